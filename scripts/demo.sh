#!/usr/bin/env bash
# The main job: set up .venv, then run the DORA compliance assessment of the bundled sample
# policies (examples/policies, a fictional German bank) on the embedded Prefect API, and
# print where the HTML/PDF report and the executive summary are.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export DORA_ENTITY_PROFILE="${DORA_ENTITY_PROFILE:-examples/entity-profile.yaml}"
set +e
.venv/bin/dora run definitions/dora-compliance-assessment.yaml --input documents=examples/policies "$@"
code=$?
set -e
latest="$(ls -td reports/dora-compliance-assessment/*/ 2>/dev/null | head -1 || true)"
if [ "$code" -eq 1 ] && [ -n "$latest" ] && ls "$latest"*.pdf >/dev/null 2>&1; then
  # The assessment ran and produced its report; the run is marked failed because the sample
  # bank does not meet the definition's success criteria (compliance_score >= 0.7). That is
  # the assessment's finding, not a failure of the demo.
  echo
  echo "The assessment completed; the sample bank does not meet the success criteria (see the report)."
  exit 0
fi
exit "$code"

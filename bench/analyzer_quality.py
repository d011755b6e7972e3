"""Precision and recall of the policy analyzer on the labeled sets in tests/eval/.

The sets, kept apart on purpose. Each independent author wrote and labeled their documents
without seeing the analyzer, the bench or any other set (labeling rule in each
``labels.yaml``: an explicit statement satisfying at least one substantive element of
the requirement; mentions, headings and cross-references do not count).

Tuning sets (thresholds, rules, synonyms and catalog wording were chosen on these):

* ``dev`` (``tests/eval/docs`` + ``tests/eval/labels.yaml``) and ``dev2``: the first two
  sets (prose, Markdown control tables, numbered clauses, heavy abbreviations);
* ``dev3``: independent author (insurer, payment institution, investment firm; an AML
  policy as a distractor);
* ``dev4``: independent author, first used as held-out ``holdout2`` and then tuned on
  (strategy, SecOps procedure, change policy, crisis communication, register and exit);
* ``dev5``, ``dev6``: independent authors writing from a brief that asks for realistic
  thin areas (topics mentioned, deferred or planned but not done): an investment firm's
  framework, DOCX security policy, HTML incident procedure, BC/DR plan, testing
  programme; an insurer's terse standards with German loan words and a plain-text table.
  Both were measured once as held-out sets before any tuning on them;
* ``dev7``, ``dev8``: independent authors from the same brief: a German crypto-asset
  service provider writing mostly in German (the evidence model is not fitted on it; it
  shows how far German vocabulary is from the English catalog) and a small investment
  firm under the Art. 16 simplified regime (RTS 2024/1774 Title III);
* ``dev9`` .. ``dev13``: the held-out sets of stops 9-12 (``holdout``, ``holdout3`` ..
  ``holdout6``: German-English jargon; an Italian bank's narrative policies; an e-money
  institution's wiki export with TLPT; a payment institution's engineering standards and
  plain-text runbook; a Luxembourg bank's PDF and DOCX), tuned on from stop 13 once
  fresh held-out sets existed;
* ``dev14`` .. ``dev17``: the held-out sets of stop 13 (``holdout7`` .. ``holdout10``: an
  Irish insurer's board-level policies; a Spanish investment firm's control framework as
  intranet HTML; a Finnish e-money institution's engineering standards and runbook; an
  Italian UCITS management company's legalistic policies). Measured once with the
  analyzer frozen (P 0.824 / R 0.748 pooled), then tuned on;
* ``dev18`` .. ``dev21``: the second round of stop 13 (``holdout11`` .. ``holdout14``: a
  Belgian bank's "principles and minimum requirements" policies; a Polish crypto-asset
  service provider's Notion/Confluence exports; a small Maltese investment firm under the
  Art. 16 simplified regime; a Portuguese payment institution's policy, manual and
  control matrix). Measured once with the analyzer frozen (P 0.832 / R 0.747 pooled),
  then tuned on.

* ``dev22`` .. ``dev25``: the third round of stop 13 (``holdout15`` .. ``holdout18``: an
  Austrian regional bank's policies in translated English; a Dutch insurer's ISO 27001
  ISMS documents with DORA mapping columns; a small Irish exempted e-money institution
  under Art. 16, with template leftovers; a Swedish crowdfunding service provider's lean
  policies and Board minutes). Measured once with the analyzer frozen (P 0.800 /
  R 0.766 pooled), then tuned on at stop 14.
* ``dev26`` .. ``dev29``: the held-out sets of stop 14's first round (``holdout19`` ..
  ``holdout22``: a Greek significant bank identified for TLPT, with formal Board policies
  in PDF and DOCX and a control matrix; a Danish pension fund's (IORP) intranet handbook
  with FAQs, Board and Risk Committee minutes and a plain-text continuity plan; an
  Estonian remittance payment institution with nine staff (a microenterprise),
  founder-written; a French MTF operator's ISMS procedures with RACI tables, operations
  runbook and incident playbook). Measured once with the analyzer frozen (P 0.839 /
  R 0.753 pooled), then tuned on.
* ``dev30`` .. ``dev33``: the held-out sets of stop 14's second round (``holdout23`` ..
  ``holdout26``: a Croatian central securities depository's rulebooks translated from
  Croatian, with a Management Board decision; a small Cypriot investment firm under the
  Art. 16 simplified regime, with consultancy templates, the IT manager's procedures and
  an MSP summary; a Spanish credit cooperative's translated policies, slide-note briefing
  and internal-audit report; an Irish AIFM's consultancy policies, informal IT handbook
  and Board paper). Measured once with the analyzer frozen (P 0.850 / R 0.740 pooled),
  then tuned on at stop 15. (After that measurement, stop 14 widened the Art. 16 search
  phrasing; an error listing used for it also showed four holdout24 rows.)
* ``dev34`` .. ``dev37``: the held-out sets of stop 14's third round (``holdout27`` ..
  ``holdout30``: a Latvian non-life insurer's "Chapter I" policies, Risk Committee charter
  and IT operations procedure in PDF tables; a Slovenian exempted payment institution with
  14 staff under Art. 16, with the managing director's and IT administrator's rules and an
  e-mail-style incident instruction; a French credit rating agency's control tables,
  platform manual and decision-tree incident plan; a Swedish CCP identified for TLPT).
  Measured once with analyzer 1.5.1 frozen (P 0.894 / R 0.750 pooled), and once with the
  semantic mode of analyzer 1.6.0 when its model was first fitted (P 0.912 / R 0.762),
  then tuned on at stop 15.
* ``dev38`` .. ``dev41``: stop 15's held-out round, given the styles earlier rounds found
  hardest (``holdout31`` .. ``holdout34``: a Czech reinsurer's group policies translated
  from Czech, risk register and Board minutes; a Hungarian data reporting service
  provider's Confluence pages, ADR and on-call runbook; a Finnish seven-person account
  information service provider's founder-written Notion pages, labeled generously; a small
  Belgian pension fund under Art. 16 whose documents mostly describe its providers' work).
  Measured once with analyzer 1.6.0 and both models fitted on dev..dev33: lexical
  P 0.766 / R 0.629 pooled (0.762/0.805, 0.790/0.661, 0.829/0.356, 0.697/0.784), semantic
  mode P 0.783 / R 0.650; then tuned on at stop 16.
* ``dev42`` .. ``dev45``: stop 16's second held-out round (``holdout39`` .. ``holdout42``:
  a Portuguese insurer's second-line policy register; a Romanian bank's internal norms
  translated from Romanian, with an IT procedure that is mostly tables; a Slovak payment
  institution's Board policy and engineering documents; a Polish brokerage house's
  ISO 27001 / KNF-mapped documents with control ids). Measured once with analyzer 1.6.1
  and both models fitted on dev..dev41: lexical P 0.821 / R 0.842 pooled (0.823/0.842,
  0.855/0.889, 0.822/0.768, 0.784/0.862), semantic mode P 0.829 / R 0.852 (0.839/0.853,
  0.873/0.895, 0.815/0.797, 0.788/0.855); then tuned on at stop 16 (deferrals to a
  document named only by its code).
* ``dev46`` .. ``dev49``: stop 17's first held-out round (``holdout47`` .. ``holdout50``:
  a Spanish crypto-asset service provider's CISO and engineering documents; a 22-person
  Austrian investment firm under Art. 16 whose IT is run by a managed-service provider; a
  Swedish bank's intranet instructions, with a group IT company doing much of the work; a
  Luxembourg management company that delegates portfolio management, administration and
  most ICT). Measured once with analyzer 1.6.2 and both models fitted on dev..dev45:
  lexical P 0.827 / R 0.851 pooled (0.873/0.819, 0.804/0.772, 0.870/0.882, 0.759/0.913),
  semantic mode P 0.837 / R 0.857 (0.869/0.831, 0.831/0.733, 0.872/0.895, 0.777/0.935);
  then tuned on at stop 17.
* ``dev50`` .. ``dev53``: stop 17's last held-out round (``holdout59`` .. ``holdout62``:
  a German private bank's written rules in English, with a banking data centre running
  core systems; a 28-person Irish open-banking payment institution's founder-written
  pages; an Austrian life insurer's locally adopted group standards, with the group IT
  company running the data centres and the SOC; an 18-person Estonian investment firm
  under Art. 16). Measured once with analyzer 1.7.1 and both models fitted on
  dev..dev49: lexical P 0.845 / R 0.771 pooled (0.897/0.843, 0.840/0.672, 0.778/0.850,
  0.883/0.716), semantic mode P 0.832 / R 0.776; then tuned on at stop 18.
* ``dev54`` .. ``dev57``: stop 18's held-out round 16 (``holdout63`` .. ``holdout66``: a
  Luxembourg central securities depository identified for TLPT; a Dutch company pension
  fund (IORP) under Art. 16 whose administration and IT are outsourced; a seven-person
  Finnish crowdfunding service provider's founder-written wiki pages; a Belgian
  reinsurer's group policies with local addenda). Measured once with analyzer 1.7.2 and
  both models fitted on dev..dev53: lexical P 0.853 / R 0.789 pooled (0.831/0.870,
  0.815/0.805, 0.831/0.598, 0.912/0.890), semantic mode P 0.859 / R 0.767; then tuned on
  at stop 19.
* ``dev58`` .. ``dev61``: stop 19's held-out round 17 (``holdout67`` .. ``holdout70``,
  written before any change of that stop: an Italian bond MTF operator's regulations
  translated from Italian and its operations runbook; an 11-person Irish account
  information service provider's founder wiki pages (microenterprise); a Spanish
  alternative investment fund manager's consultancy-template documents with control
  tables and an intranet incident page; a Maltese crypto-asset custodian's SRE runbooks
  and board policy). Measured once with analyzer 1.7.3 and both models fitted on
  dev..dev53: lexical **P 0.860** / R 0.758 pooled (0.890/0.812, 0.898/0.661,
  0.873/0.851, 0.783/0.718), semantic mode **P 0.873** / R 0.762 (0.906/0.839,
  0.906/0.661, 0.878/0.851, 0.804/0.712); then tuned on at stop 19.
* ``dev62`` .. ``dev65``: stop 20's held-out round 18 (``holdout71`` .. ``holdout74``,
  written before any change of that stop: a Paris securitisation repository's formal
  policies translated from French and a terse step-table procedure; a Hamburg insurance
  broker's Confluence pages exported to HTML and a control matrix; a Dublin credit rating
  agency's staff FAQ, board policy in numbered clauses and slide-style testing outline; a
  75-person Vilnius e-money institution's founder-written handbook pages and one formal
  policy). Measured once with analyzer 1.8.0 and the models of stop 19 (lexical fitted on
  dev..dev61): lexical **P 0.865 / R 0.840** pooled (0.877/0.944, 0.856/0.840,
  0.842/0.904, 0.882/0.721), the goal met on a fresh round; semantic mode **P 0.872 /
  R 0.840** (0.887/0.937, 0.887/0.859, 0.832/0.912, 0.880/0.706); then tuned on at
  stop 20.
* ``dev66`` .. ``dev69``: stop 20's held-out round 19 (``holdout75`` .. ``holdout78``,
  written after analyzer 1.9.0 was frozen: a Madrid trade repository's ISO 27001-style
  ISMS documents with Spanish-influenced English and an incident runbook; an Amsterdam
  CCP's rulebook-style policies and clearing-desk recovery runbook; a Paris data
  reporting services provider's engineering Markdown and HTML pages and board policy; a
  nine-person Zagreb payment initiation start-up (microenterprise) whose co-founders write
  wiki pages in plain non-native English). Measured once with analyzer 1.9.0 and both
  models fitted on dev..dev65: lexical **P 0.850 / R 0.836** pooled (0.800/0.895,
  0.881/0.915, 0.861/0.876, 0.856/0.680), semantic mode **P 0.862 / R 0.823**
  (0.819/0.888, 0.885/0.902, 0.874/0.864, 0.871/0.657), the second fresh round in a row
  at the goal; then tuned on at stop 21, once round 20 existed.
* ``dev70`` .. ``dev73``: stop 21's held-out round 20 (``holdout79`` .. ``holdout82``,
  written before any change of that stop: an eleven-person Riga crowdfunding service
  provider's founder Notion pages, plain-text runbook and law-firm board policy
  (microenterprise); a Milan data reporting service provider's policies translated from
  Italian with step-table procedures; a Linz savings bank's ISMS documents with RACI
  tables as DOCX, HTML and plain text; a 24-person Limassol investment firm under Art. 16
  whose outsourced IT provider drafted half its documents). Measured once with analyzer
  1.9.0 and both models fitted on dev..dev65: lexical **P 0.854 / R 0.812** pooled
  (0.879/0.732, 0.902/0.902, 0.894/0.871, 0.651/0.683), semantic mode **P 0.874 /
  R 0.815**, the third fresh round in a row at the goal; then tuned on at stop 22.
* ``dev74`` .. ``dev77``: stop 21's held-out round 21 (``holdout83`` .. ``holdout86``,
  written after analyzer 1.9.1 and models 5 were frozen: a Cologne composite insurer's
  guidelines whose group IT company runs most systems; a Bratislava bank's Confluence
  pages exported to HTML, board policy and on-call handbook; a Dublin insurance broker's
  clause policy, control matrix, continuity plan, managed-SOC playbook and vendor
  procedure; a Berlin MiCA custodian's engineering handbook, key standard, runbook and
  board policy). Measured once with analyzer 1.9.1 and both models fitted on dev..dev69:
  lexical P 0.787 / **R 0.864** pooled (0.789/0.947, 0.747/0.793, 0.797/0.912,
  0.814/0.804), semantic mode P 0.811 / R 0.868: precision below the goal, mostly on
  duties the authors left to a named group IT company or managed SOC; then tuned on at
  stop 22, once round 22 existed.
* ``dev78`` .. ``dev81``: stop 22's held-out round 22 (``holdout87`` .. ``holdout90``,
  written before any change of that stop: a 45-person Tallinn e-money institution's board
  policy, CTO's security baseline, incident guide with TODO notes, supplier procedure and
  continuity plan; a Luxembourg UCITS/AIF management company that delegates
  administration and IT; an eight-person Porto payment institution's founder pages and a
  lawyer-drafted framework (microenterprise); a Copenhagen mortgage credit institution
  with a sector data centre). Measured once with analyzer 1.9.2 and both models 6
  (fitted on dev..dev77, threshold for the widest margin to the goal): lexical
  **P 0.878** / R 0.775 pooled (0.902/0.798, 0.885/0.926, 0.887/0.573, 0.838/0.844),
  semantic mode **P 0.881** / R 0.782; then tuned on at stop 22, once round 23 existed.
* ``dev82`` .. ``dev85``: stop 22's held-out round 23 (``holdout91`` .. ``holdout94``,
  written before round 22 was measured: a 120-person Warsaw MiCA trading platform and
  custodian; a Bucharest bank's norms translated from Romanian; a six-person Luxembourg
  account information service provider's founder pages (microenterprise); a Helsinki life
  insurer's ITIL-style process descriptions). Measured once with analyzer 1.9.3 and both
  models 7 (fitted on dev..dev81): lexical **P 0.861** / R 0.773 pooled (0.838/0.783,
  0.917/0.895, 0.800/0.620, 0.886/0.832), semantic mode **P 0.875** / R 0.777; then tuned
  on at stop 23, once round 24 existed.
* ``dev86`` .. ``dev89``: stop 23's held-out round 24 (``holdout95`` .. ``holdout98``,
  written before any change of that stop: a 140-person Vienna alternative investment fund
  manager with a Luxembourg fund administrator; a five-person Vilnius crowdfunding
  platform's founder pages (microenterprise), labeled densely; a 25-person Ljubljana
  investment firm under the Art. 16 simplified regime, consultant templates with a
  guidance box left in; a Madrid bank's group policies translated from Spanish). Measured
  once with the frozen analyzer 1.9.3 and both models 7 (fitted on dev..dev81): lexical
  **P 0.863** / R 0.762 pooled (0.869/0.853, 0.848/0.609, 0.835/0.717, 0.889/0.916),
  semantic mode **P 0.869** / R 0.757; then tuned on at stop 24.
* ``dev90`` .. ``dev93``: stop 24's round 26 (``holdout103`` .. ``holdout106``, written
  before any change of that stop: a 140-person Tallinn payment institution's
  compliance-team documents; a six-person Bratislava e-money institution's founder pages
  (microenterprise), labeled densely (25-48 ids per document); a Warsaw cooperative bank
  in an institutional protection scheme, resolutions translated from Polish; a Rotterdam
  industry-wide pension fund (IORP) that outsources administration and ICT). Measured
  once with the frozen analyzer 1.9.3, catalog 2026.11.5 and both models 8 (fitted on
  dev..dev85): lexical **P 0.883** / R 0.749 pooled (0.916/0.916, 0.861/0.525,
  0.889/0.795, 0.854/0.763), semantic mode **P 0.887** / R 0.759. Precision met, recall
  not: the founder's supplier page fell just under the ICT-document bar (share 0.48
  against 0.5) and lost 28 of its 31 duties, and two yearly reports were read as
  documents of the ICT-risk kind only. Both fixed at stop 24 (analyzer 1.9.4), then tuned
  on; with models 9, fitted on them too (so no longer blind): P 0.896 / R 0.804.
* ``dev94`` .. ``dev97``: stop 24's round 27 (``holdout107`` .. ``holdout110``, written
  after stop 24's changes: a six-person Prague investment firm's founder pages
  (microenterprise), labeled densely (24-45 ids per document); a Frankfurt central
  counterparty's formal policies with a second data centre; a 60-person Vienna credit
  rating agency with a group IT company; a 900-person Amsterdam e-money institution's
  docs-as-code handbook). Measured once with analyzer 1.9.4, catalog 2026.11.6 and both
  models 9 (fitted on dev..dev93): lexical **P 0.906** / R 0.776 pooled (0.876/0.661,
  0.906/0.922, 0.927/0.784, 0.910/0.743), semantic mode **P 0.916** / R 0.784. Two titles
  were misread: the supplier page "Who we rely on" named no kind (R 0.38), and the
  "Resilience Engineering Standard" (tiers, backups, failover, game days) was read as of
  the ICT-risk kind only (R 0.34). Both fixed at stop 25 (analyzer 1.10.0), then tuned on.
* ``dev98`` .. ``dev101``: stop 25's round 28 (``holdout111`` .. ``holdout114``: an
  eight-person Ljubljana crypto-asset service provider's founder and CTO wiki pages
  (microenterprise), labeled densely (27-55 ids per document); a 700-person Copenhagen
  mortgage credit institution; a 150-person Helsinki reinsurer with a past-tense annual
  report and an audit-style control catalogue; a 30-person Riga investment firm under the
  Art. 16 simplified regime). Measured once with analyzer 1.9.4 plus stop 25's title
  fixes (commit ``4be6afa``) and both models 9: lexical **P 0.864** / R 0.727 pooled
  (0.817/0.536, 0.925/0.876, 0.799/0.799, 0.934/0.740), semantic mode **P 0.866** / R
  0.750; with analyzer 1.10.0 and models 10: P 0.865 / R 0.715. Its founder pages were
  looked at for stop 25's change, so it was tuned on at stop 26.
* ``dev102`` .. ``dev105``: stop 26's round 29 (``holdout115`` .. ``holdout118``, written
  at the start of stop 26: a nine-person Tallinn payment institution's founder pages
  (microenterprise); a Milan UCITS/AIF management company in a banking group, formal and
  translated in feel; a 150-person Warsaw crypto-asset service provider's engineering
  handbook; a Bucharest credit institution's mixed repository: framework, an internal
  audit report with findings, a control catalogue, an incident procedure with a worked
  example, a third-party procedure). Measured once with analyzer 1.10.0 and both models
  10 (fitted on dev..dev97): lexical P 0.833 / R 0.791 pooled (0.869/0.688, 0.896/0.878,
  0.857/0.750, 0.724/0.866), semantic mode P 0.830 / R 0.810; the first fresh round under
  the precision goal since round 21. The audit report's findings ("the crisis
  communication plan has not been tested", "There is no isolated recovery environment",
  "Finding 4 - DR plans do not define disruption scenarios") and its management responses
  dated to the day ("will introduce ... by 31 December 2025") were read as duties met
  (the report alone had 11 false positives); analyzer 1.10.1 reads them as the gaps and
  plans they are (with models 10: six false positives fewer in ``holdout118``, and over
  all 105 tuning sets 12 fewer and one true positive more). Tuned on from stop 26.

Held-out sets (never tuned on; their numbers say how far the tuning figures generalise),
each by an independent author from the brief in ``tests/eval/AUTHORING.md``, measured
once with the analyzer and the evidence models frozen.

Round 9 (stop 16), styles left to the authors, measured once with
analyzer 1.6.0 and both models fitted on dev..dev37: lexical **P 0.853 / R 0.844** pooled
(F1 0.848), semantic mode P 0.842 / R 0.855 (F1 0.848), the first blind round at the goal:

* ``holdout35``: a German savings bank's written rules (SfO) in English: outsourcing
  guideline, IT strategy and ICT risk framework, information security guideline,
  emergency manual, incident work instruction (lexical 0.847/0.859, semantic
  0.831/0.866);
* ``holdout36``: a Dutch insurance intermediary's ISMS documents with a Statement of
  Applicability (0.835/0.793, semantic 0.816/0.821);
* ``holdout37``: an Estonian trade repository (0.856/0.849, semantic 0.844/0.866);
* ``holdout38``: an Irish e-money institution's policy and team runbooks (0.875/0.875,
  semantic 0.881/0.868).

Round 11 (stop 16), styles left to the authors, measured once with analyzer 1.6.2 and
both models fitted on dev..dev45: lexical **P 0.871 / R 0.836** pooled (F1 0.853),
semantic mode P 0.886 / R 0.852 (F1 0.869):

* ``holdout43``: an Italian insurer's documents from several owners (Board ICT risk
  policy, IT security standards, continuity plan, incident procedure, procurement
  guideline; some translated from Italian) (lexical 0.856/0.856, semantic 0.880/0.885);
* ``holdout44``: a Lithuanian e-money institution's Board policies and platform
  security baseline (0.824/0.814, semantic 0.868/0.826);
* ``holdout45``: a Danish mortgage credit institution's Board guidelines to the
  Executive Board, IT security policy, contingency plan, incident instructions and
  supplier policy (0.920/0.819, semantic 0.900/0.841);
* ``holdout46``: a French asset management company's compliance and CISO documents
  (risk cartography, supplier procedure, PSSI) (0.885/0.857, semantic 0.896/0.857).

Rounds 9 to 11 pooled, each as measured frozen: lexical P 0.848 / R 0.840, semantic
mode P 0.853 / R 0.853.

Round 13 (stop 17), entity and style assigned, measured once with analyzer 1.7.0 and
both models fitted on dev..dev49: lexical **P 0.865** / R 0.755 pooled (F1 0.806),
semantic mode **P 0.865** / R 0.799 (F1 0.831); precision met, recall not, because of
a microenterprise's founder-written pages:

* ``holdout51``: a Belgian savings and mortgage bank's numbered-article policies with
  French/Dutch headings (lexical 0.902/0.822, semantic 0.895/0.873);
* ``holdout52``: a Finnish payment institution's docs-as-code Markdown and handbook pages,
  labeled generously (0.814/0.770, semantic 0.828/0.788);
* ``holdout53``: a Greek non-life insurer's table-heavy, translated policies
  (0.847/0.887, semantic 0.841/0.920);
* ``holdout54``: a nine-person Maltese payment institution (microenterprise) whose
  founder-CEO writes "we do ..." without obligation verbs (0.919/0.555, semantic
  0.912/0.628).

Round 14 (stop 17), entity and style assigned, measured once with analyzer 1.7.1 (a
statement of practice such as "we review ..." counts as an obligation verb; reserved
slots and "not applicable" cells are not evidence) and both models refitted on
dev..dev49: lexical P 0.844 / R 0.795 pooled (F1 0.819), semantic mode **P 0.851 /
R 0.805** (F1 0.827), the goal met in the semantic mode:

* ``holdout55``: a Slovenian regional bank's rules translated from Slovenian, with a
  shared banking IT centre (lexical 0.838/0.821, semantic 0.849/0.855);
* ``holdout56``: a 35-person Portuguese crypto-asset service provider's wiki pages by its
  CTO and head of compliance, labeled generously (0.871/0.709, semantic 0.871/0.703);
* ``holdout57``: a Czech investment firm's ISO 27001 ISMS documents with control ids
  (0.814/0.897, semantic 0.826/0.877);
* ``holdout58``: a French payment institution's PSSI and PCA/PRA translated from French
  (0.856/0.772, semantic 0.861/0.802).

Round 25 (stop 23), entity and style assigned, written with round 24 before any change of
stop 23, measured once with catalog 2026.11.5 (search phrases and evidence wording in
practice words: "the database is Multi-AZ", "a hardware security key", "nobody approves
their own access request", "vendor security review", "certificate of destruction", "the
capacity dashboard", "first line, second line") and both models 8 (fitted on dev..dev85):
lexical **P 0.866 / R 0.803** pooled (F1 0.833), semantic mode **P 0.877 / R 0.802**
(F1 0.836), the goal met in both modes, though the founder-written microenterprise again
reached only R 0.60 (catalog 2026.11.4 with models 7, measured afterwards for comparison
only: P 0.858 / R 0.784; on round 24 the new catalog and models give P 0.866 / R 0.750
against the frozen 0.863 / 0.762, so the change is a small gain over both rounds, not a
cure):

* ``holdout99``: a 300-person Dublin card acquirer: clause policy, security operations
  standard, major-incident runbook, supplier FAQ, DR plan (lexical 0.868/0.856, semantic
  0.872/0.843);
* ``holdout100``: a seven-person Lisbon crypto custody and exchange start-up
  (microenterprise): the founders' and an engineer's pages, labeled densely (30-46 ids per
  document) (0.866/0.601, semantic 0.902/0.607);
* ``holdout101``: an Athens central securities depository's board-resolution policies
  with a Thessaloniki DR site and an IT vendor (0.895/0.889, semantic 0.901/0.895);
* ``holdout102``: a Brussels health and life insurer's Solvency II-flavoured policies,
  checklist standard and swimlane procedure (0.833/0.919, semantic 0.838/0.912).

Round 30 (stop 26), entity and style assigned, written while stop 26 folded rounds 28 and
29 in and measured once with that stop's final analyzer (1.10.1, catalog 2026.11.6) and
lexical model 11 (fitted on dev..dev105): lexical **P 0.845 / R 0.812** pooled (F1 0.828);
the state it was measured on still read "there is no ..." as a gap, which a unit test
then showed wrong ("there are no shared logins" is a rule): without it, as committed,
P 0.844 / R 0.812, and with stop 25's analyzer 1.10.0 and models 10 P 0.847 / R 0.807.
Recall met with a founder-written microenterprise in the round, precision just short.
The semantic mode with the semantic model 11 (fitted with lexical model 11, measured once
when it was done): **P 0.856 / R 0.804**, the goal met:

* ``holdout119``: a six-person Vilnius account information service provider's founder
  documents (microenterprise), the CEO writing as "I", labeled densely (28-40 ids per
  document) (lexical 0.840/0.648, semantic 0.843/0.630);
* ``holdout120``: a 210-person Luxembourg trading venue (MTF and OTF operator), legally
  precise policies and standards (0.908/0.849, semantic 0.922/0.855);
* ``holdout121``: a Dutch industry-wide pension fund (IORP) that outsources
  administration and IT, with a board memo on its yearly DORA self-assessment
  (0.779/0.845, semantic 0.821/0.838; the memo alone has 15 false positives);
* ``holdout122``: a 120-person Madrid money remittance payment institution: question and
  answer policies, RACI tables, a slide deck (0.851/0.917, semantic 0.839/0.904).

The 24 held-out sets pooled (rounds 9, 11, 13, 14, 25 and 30; analyzer 1.10.1, catalog
2026.11.6, both models 11 fitted on dev..dev105): lexical **P 0.870 / R 0.843**, semantic
mode **P 0.876 / R 0.846**. The 20 of rounds 9 to 25 alone: lexical P 0.875 / R 0.849
(1.10.0 with models 10: P 0.876 / R 0.850), semantic mode P 0.880 / R 0.855. Rounds 28
and 29, now dev98-105 and fitted on: P 0.886 / R 0.750 and P 0.857 / R 0.807.

Rounds 12 to 15 pooled, as measured: lexical P 0.845 / R 0.791, semantic mode
P 0.847 / R 0.808 (round 15, ``holdout59`` .. ``holdout62``, is now ``dev50`` .. ``dev53``).
Rounds 16 to 23, measured once frozen and then tuned on, are listed with the tuning
sets above. All 24 sets of rounds 9 to 17 with analyzer 1.7.3, each round blind when
measured: lexical P 0.854 / R 0.807; round 18 with analyzer 1.8.0: P 0.865 / R 0.840.

Analyzer 1.8.0 (the evidence document's kind as a signal; catalog 2026.11.3) with both
models fitted on dev..dev61, on the 16 held-out sets (rounds 9, 11, 13 and 14): lexical
**P 0.856 / R 0.855** (analyzer 1.7.3 on the same sets: P 0.853 / R 0.824), semantic mode
**P 0.862 / R 0.858**. Analyzer 1.9.0 (key-word-only passages as weak evidence; catalog
2026.11.4) with both models fitted on dev..dev65: lexical **P 0.855 / R 0.862**,
semantic mode **P 0.868 / R 0.861** (1.8.0: P 0.862 / R 0.858); with round 19, all 20
held-out sets: lexical P 0.854 / R 0.857, semantic mode P 0.867 / R 0.853.

Analyzer 1.9.1 (deferrals read contractions, roadmaps and wish lists, someone's advice,
"is on Marko's page ...", a "not relevant" cell) with both models (5) refitted on
dev..dev69 once round 19 was folded in: leave-one-author-out lexical P 0.838 / R 0.841
(F1 0.839; model 4 on dev..dev65: 0.838), semantic P 0.848 / R 0.839 (F1 0.843). On the 20
held-out sets (rounds 9, 11, 13, 14 and 20): lexical **P 0.858 / R 0.854** (1.9.0 with
models 4: P 0.855 / R 0.852), semantic mode **P 0.869 / R 0.853**; on the 16 of rounds
9-14: lexical P 0.858 / R 0.863, semantic P 0.869 / R 0.861.

Each document is analysed on its own; a requirement counts as *found* when the analyzer
marks it ``covered`` or ``partial``. Precision and recall are micro-averaged over all
(document, requirement) pairs; the last lines pool the tuning and the held-out sets.
Goal: precision >= 0.85, recall >= 0.80 on the held-out sets.

``--semantic`` runs the semantic mode: the optional semantic matcher (agents/semantic)
adds what the sentence closest to each obligation means, and the evidence model fitted
with those signals on the tuning sets only (``evidence_model_semantic.json``) decides.

    .venv/bin/python bench/analyzer_quality.py [--verbose] [--set NAME|all] [--semantic] [--jobs N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agents.analysis import analyze, semantic_check  # noqa: E402
from agents.catalog import Catalog, load_catalog  # noqa: E402
from agents.contracts import EntityProfile  # noqa: E402
from agents.documents import DocumentSet, load_documents  # noqa: E402

EVAL_DIR = ROOT / "tests" / "eval"
HELD_OUT = tuple(
    f"holdout{n}"
    for n in (*range(35, 39), *range(43, 47), *range(51, 59), *range(99, 103), *range(119, 123))
)
SETS: dict[str, Path] = {
    "dev": EVAL_DIR,
    **{f"dev{n}": EVAL_DIR / f"dev{n}" for n in range(2, 106)},
    **{name: EVAL_DIR / name for name in HELD_OUT},
}
GOAL_PRECISION, GOAL_RECALL = 0.85, 0.80


@dataclass
class DocResult:
    path: str
    expected: set[str]
    found: set[str]
    false_positives: set[str] = field(default_factory=set)
    false_negatives: set[str] = field(default_factory=set)


@dataclass
class Quality:
    precision: float
    recall: float
    documents: list[DocResult]

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def counts(self) -> tuple[int, int, int]:
        """(true positives, false positives, false negatives) over all documents."""
        tp = sum(len(d.found & d.expected) for d in self.documents)
        fp = sum(len(d.false_positives) for d in self.documents)
        fn = sum(len(d.false_negatives) for d in self.documents)
        return tp, fp, fn


def _quality(docs: list[DocResult]) -> Quality:
    tp = sum(len(d.found & d.expected) for d in docs)
    fp = sum(len(d.false_positives) for d in docs)
    fn = sum(len(d.false_negatives) for d in docs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return Quality(precision, recall, docs)


@dataclass
class LabeledDocument:
    path: str
    documents: DocumentSet
    profile: EntityProfile
    expected: set[str]


def labeled_documents(eval_dir: Path, catalog: Catalog) -> Iterator[LabeledDocument]:
    """Each labeled document of a set, loaded, with its profile and checked labels."""
    labels = yaml.safe_load((eval_dir / "labels.yaml").read_text(encoding="utf-8"))
    known = {r.id for r in catalog.requirements}
    for entry in labels["documents"]:
        expected = set(entry["covers"])
        unknown = expected - known
        if unknown:
            raise ValueError(f"{entry['path']}: labels name unknown requirements {sorted(unknown)}")
        yield LabeledDocument(
            entry["path"],
            load_documents([eval_dir / entry["path"]]),
            EntityProfile(**entry.get("profile", {})),
            expected,
        )


def evaluate(eval_dir: Path = EVAL_DIR, *, semantic: bool = False) -> Quality:
    """Run the analyzer over every labeled document in ``eval_dir`` and compare with labels."""
    catalog = load_catalog()
    check = semantic_check(catalog) if semantic else None
    docs: list[DocResult] = []
    for doc in labeled_documents(eval_dir, catalog):
        results = analyze(doc.documents, doc.profile, catalog, semantic=check)
        found = {
            a.requirement_id for a in results.requirements if a.coverage in ("covered", "partial")
        }
        expected = doc.expected
        docs.append(DocResult(doc.path, expected, found, found - expected, expected - found))
    return _quality(docs)


#: one run of the bench: a set's name and whether the semantic mode is measured
Job = tuple[str, bool]


def _one_blas_thread() -> None:
    """Worker start-up: numpy's BLAS starts a thread per core, and in worker processes
    that already share the cores out, extra threads only contend. (Importing this module
    has loaded numpy, so the limit reaches its BLAS.)"""
    threadpool_limits(1)


def _evaluate_job(job: Job) -> Quality:
    name, semantic = job
    return evaluate(SETS[name], semantic=semantic)


def evaluate_many(jobs: Sequence[Job], workers: int | None = None) -> dict[Job, Quality]:
    """Run several (set, mode) measurements, spread over worker processes.

    Why: every set is analysed on its own, so the measurements of the test suite and of
    this bench parallelise perfectly; one process per core makes them that much faster.
    Workers are spawned, not forked (the caller may hold threads, e.g. a test server's),
    and the semantic jobs go first because they are the long ones.
    """
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        return {job: _evaluate_job(job) for job in jobs}
    ordered = sorted(jobs, key=lambda job: not job[1])
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, spawn, initializer=_one_blas_thread) as pool:
        results = dict(zip(ordered, pool.map(_evaluate_job, ordered), strict=True))
    return {job: results[job] for job in jobs}


def combined(*qualities: Quality) -> Quality:
    """Micro-averaged figures over several sets (all their documents pooled)."""
    return _quality([d for q in qualities for d in q.documents])


def _line(name: str, q: Quality) -> str:
    tp, fp, fn = q.counts
    return (
        f"{name:9s} precision {q.precision:.3f}  recall {q.recall:.3f}  f1 {q.f1:.3f}  "
        f"(TP {tp}, FP {fp}, FN {fn})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list false positives/negatives")
    parser.add_argument("--set", choices=(*SETS, "all", "both"), default="all")
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="the semantic mode (semantic matcher and its evidence model)",
    )
    parser.add_argument(
        "--jobs", type=int, help="worker processes (default: one per core)", default=None
    )
    args = parser.parse_args()
    names = list(SETS) if args.set in ("all", "both") else [args.set]
    measured = evaluate_many([(name, args.semantic) for name in names], args.jobs)
    results = {name: measured[name, args.semantic] for name in names}
    for name, quality in results.items():
        print(f"== {name} ({SETS[name].relative_to(ROOT)})")
        for doc in quality.documents:
            print(
                f"  {doc.path:45s} expected {len(doc.expected):3d} found {len(doc.found):3d} "
                f"FP {len(doc.false_positives):2d} FN {len(doc.false_negatives):2d}"
            )
            if args.verbose:
                if doc.false_positives:
                    print("      FP:", ", ".join(sorted(doc.false_positives)))
                if doc.false_negatives:
                    print("      FN:", ", ".join(sorted(doc.false_negatives)))
    print()
    for name, quality in results.items():
        print(_line(name, quality))
    tuned = [q for name, q in results.items() if name not in HELD_OUT]
    held = [q for name, q in results.items() if name in HELD_OUT]
    if tuned:
        print(_line("tuned", combined(*tuned)))
    if held:
        print(_line("held-out", combined(*held)))
    # the goal is judged on documents the analyzer was never tuned on, when any were run
    judged = combined(*(held or tuned))
    ok = judged.precision >= GOAL_PRECISION and judged.recall >= GOAL_RECALL
    print(
        f"goal on {'held-out' if held else 'tuning'} sets "
        f"(precision >= {GOAL_PRECISION}, recall >= {GOAL_RECALL}):",
        "met" if ok else "NOT met",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

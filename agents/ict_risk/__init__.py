"""ICT risk management (DORA Arts. 6-16, RTS 2024/1774): inventory, register, review.

Modules: ``tabular`` reads CSV/XLSX/JSON tables with per-row errors; ``models`` holds the
typed rows; ``frequencies`` the fixed review frequencies with their legal source;
``assessment`` maps assets to critical or important functions, scores risks and flags
findings; ``review_report`` writes the RMF review report (RTS 2024/1774 Art. 27);
``html`` renders reports in the assessment report's style.
"""

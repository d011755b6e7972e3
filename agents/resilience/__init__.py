"""Digital operational resilience testing (DORA Arts. 24-27, RTS 2025/1190 on TLPT).

``models`` holds the typed test history, findings and the entity's TLPT profile;
``tlpt`` decides whether TLPT is mandatory (RTS 2025/1190 Art. 2(2)) and schedules its
phases; ``programme`` builds the yearly testing programme, the calendar and the findings
tracking; ``report`` renders it.
"""

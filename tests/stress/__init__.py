"""rxunix's stress, fault and hostile-input suite (issue 7), with a figures table.

    python -m pytest tests/stress                  # CI variant (also in the normal test run)
    python bench/stress_report.py                  # the same, printing the Markdown table
    python bench/stress_report.py --full           # full variant (~15 min): 10,000 churn cycles,
                                                   # 100 MB lines, 5-minute soak, atheris
    RXUNIX_STRESS=full python -m pytest tests/stress -o timeout=900   # full, without the script

Modules: ``test_fuzz_framing`` (pure chains), ``test_memory_bound`` (oversize frames),
``test_fuzz_server`` (hostile streams into a real server), ``test_faults`` (SIGKILL,
server restart, RLIMIT_NOFILE, slow reader, stop drain), ``test_churn_soak``,
``test_security``; ``atheris_fuzz.py`` is the optional coverage-guided run.
"""

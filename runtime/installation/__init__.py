"""Unattended installations: `cadenza run CONFIG.yaml` and `cadenza service install`.

    config.load_config -> supervisor.Installation (session, sources, sinks, restarts,
    scene reload, watchdog), hosted by supervisor.run_installation (the CLI) or
    thread.InstallationThread (tests, benchmarks, embedding).

Import from the submodules; this package imports nothing so that `cadenza --help` stays
fast.
"""

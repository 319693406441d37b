"""Host-side pytest configuration shared by every test folder.

``tests/infra`` is the testinfra suite that runs *against a booted box*
(``tools/build-rpm --verify`` and ``tests/verify`` run it with ``--hosts``);
on the host it has nothing to test, so the default collection leaves it out.
An explicit ``pytest tests/infra --hosts=...`` still collects it.
"""
collect_ignore = ["infra"]

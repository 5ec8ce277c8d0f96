"""Settings, the ``oms`` command line and the embedded development stack."""

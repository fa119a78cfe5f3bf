"""Built-in plugins: each module registers itself through the ``slaengine`` entry-point group."""

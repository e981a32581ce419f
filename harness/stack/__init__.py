"""Starting, reaching and stopping a system under test (local processes, compose, external)."""

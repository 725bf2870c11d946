"""An app that exists only in the tests of `setup_schedules`."""

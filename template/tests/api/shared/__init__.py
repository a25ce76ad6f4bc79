"""The HTTP behaviour every endpoint shares, apart from the resources' own tests in tests/api/."""

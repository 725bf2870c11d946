import pytest


@pytest.fixture
def foundation_urls(settings):
    """The project's URLs plus views that raise, for the error pages."""
    settings.ROOT_URLCONF = "tests.foundation.urls"


@pytest.fixture
def production_errors(settings, client, foundation_urls):
    """DEBUG off and exceptions turned into responses, as a visitor would see them."""
    settings.DEBUG = False
    client.raise_request_exception = False
    return client

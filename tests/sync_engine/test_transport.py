"""The executor's transport spaces requests as the shared rate limiter does."""

from sync.publish.transport import request_interval


def test_the_request_interval_follows_the_rate_limit_margin_setting(settings):
    settings.VK_REQUESTS_PER_SECOND = 2
    settings.VK_RATE_LIMIT_MARGIN = 0.5
    assert request_interval() == 0.75
    settings.VK_RATE_LIMIT_MARGIN = 0.07
    assert request_interval() == (1 / 2) * 1.07

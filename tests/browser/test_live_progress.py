"""A run's page follows the run live: the progress bar moves while the worker publishes, and the
page shows the results by itself when the run ends.

In tests django-q runs tasks inline, so a real publish is over before its page opens (the
journey test covers that); here the worker's side is played by updating the run's row while the
page polls, as the worker's progress callback does.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sync.models import RunStatus, RunTrigger, SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_run_page_shows_progress_live_and_the_results_when_done(site, owner, password):
    page = site.page
    run = SyncRun.objects.create(
        user=owner,
        trigger=RunTrigger.MANUAL,
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
        total=4,
        done=1,
    )
    site.login(owner.email, password)
    site.visit("sync:run_detail", run.pk)
    bar = page.locator("#run-progress [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "25")

    SyncRun.objects.filter(pk=run.pk).update(done=3)
    expect(bar).to_have_attribute("aria-valuenow", "75", timeout=10_000)
    expect(page.locator("#run-progress")).to_contain_text("3")

    SyncRun.objects.filter(pk=run.pk).update(
        done=4, created=4, status=RunStatus.SUCCEEDED, finished_at=timezone.now()
    )
    # The page reloads itself once the run is over and shows the counts instead of the bar.
    expect(page.locator("#run-progress .badge-ok")).to_be_visible(timeout=10_000)
    expect(bar).to_have_count(0)
    expect(page.locator("#run-progress .counts")).to_contain_text("4")
    assert page.get_attribute("#run-progress", "data-poll-url") is None


def test_the_checks_catch_a_page_that_breaks_the_rules(site):
    """The harness itself: axe, the focus check and the phone check do find problems."""
    page = site.page
    page.set_content(
        """<!DOCTYPE html><html><head><title>t</title>
        <style>*:focus { outline: none; } .wide { width: 900px; } p { color: #bbb; }</style>
        </head><body><main><h1>Broken</h1><h3>Skipped a level</h3>
        <p>Pale text on white</p><input type="text"><button></button>
        <div class="wide">too wide</div></main></body></html>"""
    )
    found = {violation["id"] for violation in site.axe()}
    assert {"html-has-lang", "heading-order", "color-contrast", "label", "button-name"} <= found
    assert site.focus_problems(), "focus without an outline went unnoticed"
    assert "div.wide" in site.overflow_at({"width": 375, "height": 740})

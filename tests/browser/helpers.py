"""What the browser tests do to a page: open it, run axe-core in it, measure it at a phone's
width, tab through it, and (when asked) photograph it for docs/screenshots/.

`Site` wraps one Playwright page of a fresh browser context and records every console error and
uncaught page error the page produces; the `site` fixture fails the test if any were seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "tests" / "browser" / "vendor" / "axe" / "axe.min.js"
SCREENSHOT_DIR = ROOT / "docs" / "screenshots"

# The widths issue 12 was seen at: a common laptop and a common phone.
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

# The axe-core rules behind the project's accessibility basics (style.md): labelled fields, named
# buttons and links, headings in order, text contrast of at least 4.5:1, alt texts, a title and
# a language on every page, and the ARIA that the templates use being valid.
AXE_RULES = [
    "label",
    "select-name",
    "form-field-multiple-labels",
    "button-name",
    "input-button-name",
    "link-name",
    "image-alt",
    "heading-order",
    "empty-heading",
    "page-has-heading-one",
    "color-contrast",
    "document-title",
    "html-has-lang",
    "html-lang-valid",
    "valid-lang",
    "meta-viewport",
    "list",
    "listitem",
    "definition-list",
    "dlitem",
    "aria-allowed-attr",
    "aria-required-attr",
    "aria-valid-attr",
    "aria-valid-attr-value",
    "aria-roles",
    "aria-progressbar-name",
    "duplicate-id-aria",
    "nested-interactive",
    "landmark-one-main",
]

CONFIRM_LINK = re.compile(r"/accounts/confirm/[^/\s\"'<>]+/")
INVITE_LINK = re.compile(r"/accounts/invite/[^/\s\"'<>]+/")


@dataclass
class Site:
    """One page of a fresh browser context, pointed at the live server."""

    page: object
    base_url: str
    screenshots: bool = False
    errors: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.watch(self.page)

    # --- errors ------------------------------------------------------------------------------

    def watch(self, page) -> None:
        """Records console errors and uncaught exceptions of `page` (and of pages it opens)."""

        def on_console(message):
            if message.type == "error":
                location = message.location or {}
                self.errors.append(
                    f"console error on {page.url}: {message.text}"
                    + (f" ({location.get('url')}:{location.get('lineNumber')})" if location else "")
                )

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error on {page.url}: {exc}"))

    def assert_no_errors(self) -> None:
        assert not self.errors, "The browser reported errors:\n" + "\n".join(self.errors)

    # --- navigation --------------------------------------------------------------------------

    def url_for(self, target: str, *args) -> str:
        """A path ("/sync/") or a URL name ("sync:dashboard") with its arguments."""
        return target if target.startswith("/") else reverse(target, args=args or None)

    def visit(self, target: str, *args, status: int = 200):
        """Opens a page by path or URL name and checks the HTTP status it answered with."""
        response = self.page.goto(self.base_url + self.url_for(target, *args))
        assert response is not None, f"no response for {target}"
        assert response.status == status, (
            f"{target} answered {response.status}, expected {status} ({self.page.url})"
        )
        return response

    @property
    def path(self) -> str:
        return urlsplit(self.page.url).path

    def login(self, email: str, password: str) -> None:
        self.visit("accounts:login")
        self.page.fill("#id_username", email)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("main button[type=submit]")
        assert self.path != reverse("accounts:login"), self.main_text()

    def main_text(self) -> str:
        return self.page.inner_text("main")

    def messages(self) -> str:
        locator = self.page.locator("main .messages")
        return locator.inner_text() if locator.count() else ""

    # --- accessibility -----------------------------------------------------------------------

    def axe(self, rules: list[str] | None = None, *, exclude: list[str] | None = None) -> list:
        """axe-core's violations of `rules` on the current page: [{id, help, nodes: [...]}]."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol: a <script> tag would be inline code, which
            # the site's Content-Security-Policy (rightly) blocks.
            self.page.evaluate(AXE_JS.read_text())
        context = {"exclude": [[s] for s in exclude]} if exclude else {"exclude": []}
        return self.page.evaluate(
            """([rules, context]) => axe.run(
                   context.exclude.length ? context : document,
                   {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']}
               ).then(r => r.violations.map(v => ({
                   id: v.id, help: v.help,
                   nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                             html: n.html.slice(0, 200)}))
               })))""",
            [rules or AXE_RULES, context],
        )

    def serious_axe(self, *, exclude: list[str] | None = None) -> list:
        """axe-core's whole rule set (WCAG 2 A/AA and best practice) on the current page; the
        violations it rates serious or critical: [{id, impact, help, nodes: [...]}]."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE_JS.read_text())
        context = {"exclude": [[s] for s in exclude]} if exclude else {"exclude": []}
        return self.page.evaluate(
            """(context) => axe.run(
                   context.exclude.length ? context : document, {resultTypes: ['violations']}
               ).then(r => r.violations
                   .filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => ({
                       id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                                 summary: n.failureSummary,
                                                 html: n.html.slice(0, 200)}))
                   })))""",
            context,
        )

    def focus_problems(self, *, max_tabs: int = 60) -> list[str]:
        """Tabs through the page; the focusable elements whose focus shows no outline or ring."""
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        self.page.evaluate("window.scrollTo(0, 0)")
        seen, problems = set(), []
        for _ in range(max_tabs):
            self.page.keyboard.press("Tab")
            info = self.page.evaluate(
                """() => {
                    const el = document.activeElement;
                    if (!el || el === document.body) return null;
                    const s = getComputedStyle(el);
                    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
                    const ring = s.boxShadow && s.boxShadow !== 'none';
                    const id = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                        + (el.name ? '[name=' + el.name + ']' : '')
                        + ' "' + (el.innerText || el.value || el.getAttribute('aria-label') || '')
                            .trim().slice(0, 40) + '"';
                    return {key: el.outerHTML.slice(0, 300), id: id, visible: outline || ring};
                }"""
            )
            if info is None:
                break
            if info["key"] in seen:
                break  # went round the whole page
            seen.add(info["key"])
            if not info["visible"]:
                problems.append(f"{self.path}: {info['id']} shows no focus outline")
        assert seen, f"{self.path}: nothing on the page takes the keyboard focus"
        return problems

    # --- phone width -------------------------------------------------------------------------

    def overflow_at(self, viewport: dict) -> str:
        """'' if the page fits `viewport` without horizontal scrolling, else what sticks out."""
        before = self.page.viewport_size
        self.page.set_viewport_size(viewport)
        try:
            return self.page.evaluate(
                """() => {
                    const doc = document.documentElement, width = window.innerWidth;
                    if (doc.scrollWidth <= width) return '';
                    const wide = [];
                    for (const el of document.body.querySelectorAll('*')) {
                        const r = el.getBoundingClientRect();
                        if (r.right > width + 1 && !el.closest('.table-wrap')) {
                            wide.push(el.tagName.toLowerCase()
                                + (el.id ? '#' + el.id : '')
                                + (el.className && typeof el.className === 'string'
                                   ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
                                + ' (right edge ' + Math.round(r.right) + ' px)');
                        }
                    }
                    return 'scrollWidth ' + doc.scrollWidth + ' > ' + width + ': '
                        + wide.slice(0, 6).join(', ');
                }"""
            )
        finally:
            self.page.set_viewport_size(before)

    # --- screenshots -------------------------------------------------------------------------

    def screenshot(self, name: str, *, phone: bool = False) -> Path | None:
        """docs/screenshots/<name>.png of the whole page, only when screenshots were asked for."""
        if not self.screenshots:
            return None
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        before = self.page.viewport_size
        if phone:
            self.page.set_viewport_size(PHONE)
        try:
            self.page.evaluate("document.activeElement && document.activeElement.blur()")
            self.page.screenshot(path=str(path), full_page=True, animations="disabled")
        finally:
            if phone:
                self.page.set_viewport_size(before)
        return path


def describe_violations(page_name: str, violations: list) -> list[str]:
    """One readable line per failing element."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            lines.append(
                f"{page_name}: [{violation['id']}] {violation['help']} — {node['target']} "
                f"{node['html']!r}"
            )
    return lines

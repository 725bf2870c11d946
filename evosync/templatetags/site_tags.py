"""Template tags of the site's frame (templates/base.html and the pages)."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def icon(name: str, label: str = "") -> str:
    """One icon of the vendored Lucide sprite (static/vendor/lucide/sprite.svg).

    Decorative by default (hidden from screen readers: the text next to it says it); with
    `label`, the icon alone names its link or button.
    """
    href = f"{static('vendor/lucide/sprite.svg')}#{name}"
    if label:
        return format_html(
            '<svg class="icon" role="img" aria-label="{}"><use href="{}"></use></svg>', label, href
        )
    return format_html(
        '<svg class="icon" aria-hidden="true" focusable="false"><use href="{}"></use></svg>', href
    )


SITE_NAME = "EvoSync"


@register.tag("page_title")
def do_page_title(parser, token):
    """`{% page_title %}{% block title %}{% endblock %}{% endpage_title %}`: "<page> — EvoSync",
    or "EvoSync" alone for a page that names no title (Django cannot test a block for
    emptiness)."""
    nodelist = parser.parse(("endpage_title",))
    parser.delete_first_token()
    return PageTitleNode(nodelist)


class PageTitleNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        # The block's output is already escaped; whitespace from template lines is noise.
        title = " ".join(self.nodelist.render(context).split())
        return f"{title} — {SITE_NAME}" if title else SITE_NAME

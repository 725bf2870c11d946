from django.conf import settings


def site(request):
    """Values every page needs: the chat widget id and the site's base URL."""
    return {
        "JIVOSITE_WIDGET_ID": settings.JIVOSITE_WIDGET_ID,
        "BASE_URL": settings.BASE_URL,
    }

from django.conf import settings

from winback.roles import role_of


def winback(request):
    """Business settings and the signed-in role, for the layout and the navigation bar."""
    user = getattr(request, "user", None)
    return {
        "WINBACK_CURRENCY": settings.WINBACK_CURRENCY,
        "WINBACK_COMPANY_NAME": settings.WINBACK_COMPANY_NAME,
        "winback_role": role_of(user) if user is not None else None,
    }

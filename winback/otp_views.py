"""The administrators' second factor (django-otp TOTP): enrol an authenticator app, then verify a
code after each sign-in. With WINBACK_REQUIRE_ADMIN_2FA (production), winback.security sends an
administrator here before any other staff page until the session is verified."""

import base64

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from winback.roles import is_administrator


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Six-digit code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def _pending_device(user) -> TOTPDevice:
    """The unconfirmed device being enrolled: the same secret on every reload until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


@transaction.atomic
def _confirm(device: TOTPDevice) -> None:
    TOTPDevice.objects.filter(user=device.user, confirmed=False).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


@login_required
def two_factor(request):
    user = request.user
    if not (user.is_staff or is_administrator(user)):
        raise PermissionDenied
    device = _confirmed_device(user)
    enrolling = device is None
    if enrolling:
        device = _pending_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _why = device.verify_is_allowed()
        if not allowed:  # django-otp doubles the wait after each wrong code
            form.add_error("token", _("Too many wrong codes. Wait a few seconds, then try again."))
        elif device.verify_token(form.cleaned_data["token"].strip()):
            if enrolling:
                _confirm(device)
                messages.success(request, _("Two-factor sign-in is set up."))
            otp_login(request, device)
            return redirect(_next_url(request) or "home")
        else:
            form.add_error("token", _("That code is not right, or it has already been used. Try the next one."))
    context = {"form": form, "enrolling": enrolling, "next": _next_url(request), "verified": user.is_verified()}
    if enrolling:
        uri = device.config_url
        context |= {
            "otpauth_uri": uri,
            "secret": base64.b32encode(device.bin_key).decode(),
            "qr_code": segno.make(uri, error="m").svg_data_uri(scale=5),
        }
    return render(request, "winback/otp_two_factor.html", context)


# Included by winback/urls.py at staff/two-factor/.
urlpatterns = [path("", two_factor, name="two_factor")]

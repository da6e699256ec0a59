"""The customer card's privacy actions, for administrators: download everything held about the
customer, and erase them after a confirmation that names them (docs/privacy.md)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from customers.models import Customer
from winback.audit.context import request_id_of
from winback.privacy.erasure import customer_erase
from winback.privacy.export import customer_export_record, export_filename, export_zip_chunks
from winback.roles import is_administrator


def can_handle_data_requests(user) -> bool:
    """Exports and erasures of a customer's personal data: administrators only."""
    return user.is_authenticated and user.is_active and is_administrator(user)


def _customer_for_admin(request, pk: int) -> Customer:
    if not can_handle_data_requests(request.user):
        raise PermissionDenied
    return get_object_or_404(Customer, pk=pk)


class ErasureConfirmForm(forms.Form):
    external_id = forms.CharField(label=gettext_lazy("Type the customer id to confirm"), max_length=64)

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean_external_id(self) -> str:
        typed = self.cleaned_data["external_id"].strip()
        if typed != self.customer.external_id:
            raise forms.ValidationError(_("This is not the customer id of this customer."))
        return typed


@require_POST
@login_required
def export(request, pk: int):
    """The ZIP of everything held about the customer, streamed; the export is audited first."""
    customer = _customer_for_admin(request, pk)
    customer_export_record(customer=customer, actor=request.user, request_id=request_id_of(request))
    response = StreamingHttpResponse(export_zip_chunks(customer), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(customer)}"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@login_required
def erase(request, pk: int):
    """GET: what erasure does and a field for the customer id; POST: erases when it matches."""
    customer = _customer_for_admin(request, pk)
    form = ErasureConfirmForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        result = customer_erase(customer_id=customer.pk, actor=request.user, request_id=request_id_of(request))
        messages.success(
            request,
            _("Customer #%(id)s was erased (%(seconds)s s). Their address stays on the suppression list as a hash.")
            % {"id": result.customer_id, "seconds": result.seconds},
        )
        return redirect("customers:detail", pk=customer.pk)
    response = render(request, "winback/privacy/erase_confirm.html", {"customer": customer, "form": form})
    response["Cache-Control"] = "no-store"
    return response

"""Entering and editing customers by hand: details, account manager and contact preferences."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from customers import policy, services
from customers.forms import CustomerCreateForm, CustomerDetailsForm, CustomerPreferencesForm, add_service_errors
from customers.models import Customer


def _customer_for_edit(request, pk: int) -> Customer:
    """The customer, if the user may edit them: 404 if missing, 403 if not theirs."""
    customer = get_object_or_404(Customer.objects.select_related("segment", "account_manager"), pk=pk)
    if not policy.can_edit_customer(request.user, customer):
        raise PermissionDenied
    return customer


@login_required
def customer_create(request):
    if not policy.can_create_customer(request.user):
        raise PermissionDenied
    may_assign = policy.can_assign_manager(request.user)
    form = CustomerCreateForm(request.POST or None, with_account_manager=may_assign)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # A manager looks after the customers they enter; administrators choose (or leave it open).
        account_manager = data["account_manager"] if may_assign else request.user
        try:
            customer = services.customer_create(
                actor=request.user,
                external_id=data["external_id"],
                name=data["name"],
                email=data["email"],
                phone=data["phone"],
                company=data["company"],
                segment=data["segment"],
                account_manager=account_manager,
                language=data["language"],
                do_not_contact=data["do_not_contact"],
                preferred_channel=data["preferred_channel"],
                contact_notes=data["contact_notes"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect(customer.get_absolute_url())
    return render(request, "customers/customer_form.html", {"form": form, "creating": True})


@login_required
def customer_edit(request, pk: int):
    customer = _customer_for_edit(request, pk)
    may_assign = policy.can_assign_manager(request.user)
    initial = {name: getattr(customer, name) for name in services.CUSTOMER_DETAIL_FIELDS}
    initial["account_manager"] = customer.account_manager
    form = CustomerDetailsForm(
        request.POST or None,
        initial=initial,
        with_account_manager=may_assign,
        current_manager=customer.account_manager,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                services.customer_update(
                    customer=customer,
                    actor=request.user,
                    **{name: data[name] for name in services.CUSTOMER_DETAIL_FIELDS},
                )
                if may_assign:
                    services.customer_assign_manager(
                        customer=customer, actor=request.user, account_manager=data["account_manager"]
                    )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Customer %(name)s saved.") % {"name": customer.name})
            return redirect(customer.get_absolute_url())
    return render(request, "customers/customer_form.html", {"form": form, "creating": False, "customer": customer})


@login_required
def customer_preferences(request, pk: int):
    customer = _customer_for_edit(request, pk)
    initial = {
        "do_not_contact": customer.do_not_contact,
        "preferred_channel": customer.preferred_channel,
        "contact_notes": customer.contact_notes,
    }
    form = CustomerPreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_set_preferences(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Contact preferences saved."))
            return redirect(customer.get_absolute_url())
    return render(request, "customers/customer_preferences.html", {"form": form, "customer": customer})

"""The administrators' page for staff users: create, give a role, deactivate."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from winback import services
from winback.forms import UserCreateForm, UserEditForm
from winback.roles import Role, is_administrator, role_of

User = get_user_model()


def _require_admin(request) -> None:
    if not is_administrator(request.user):
        raise PermissionDenied


@login_required
def user_list(request):
    _require_admin(request)
    users = User.objects.prefetch_related("groups").order_by("-is_active", "username")
    query = request.GET.get("q", "").strip()
    if query:
        users = users.filter(Q(username__icontains=query) | Q(email__icontains=query) | Q(last_name__icontains=query))
    role = request.GET.get("role", "")
    if role in Role.values:
        users = users.filter(groups__name=role)
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    rows = [(user, role_of_prefetched(user)) for user in page]
    return render(
        request,
        "winback/user_list.html",
        {"page": page, "rows": rows, "query": query, "role": role, "roles": Role.choices},
    )


def role_of_prefetched(user) -> str:
    names = {group.name for group in user.groups.all()}
    for candidate in (Role.ADMINISTRATOR, Role.EXECUTIVE, Role.ACCOUNT_MANAGER):
        if candidate.value in names:
            return candidate.label
    return _("No role")


@login_required
def user_create(request):
    _require_admin(request)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.user_create(
            username=data["username"],
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            role=Role(data["role"]),
            password=data["password"] or None,
        )
        if not data["password"]:
            services.send_set_password_link(user)
            messages.success(
                request, _("User %(name)s created; a link to set a password was emailed.") % {"name": user.username}
            )
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
        return redirect("staff:user_list")
    return render(request, "winback/user_form.html", {"form": form, "creating": True})


@login_required
def user_edit(request, pk: int):
    _require_admin(request)
    user = get_object_or_404(User, pk=pk)
    current_role = role_of(user)
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": current_role.value if current_role else Role.ACCOUNT_MANAGER.value,
        "is_active": user.is_active,
        "dashboard": user.user_permissions.filter(
            codename="view_dashboard", content_type__app_label="winback"
        ).exists(),
    }
    form = UserEditForm(request.POST or None, initial=initial, editor=request.user, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.user_update(
            user=user,
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            role=Role(data["role"]),
            is_active=data["is_active"],
            dashboard=data["dashboard"],
        )
        messages.success(request, _("User %(name)s saved.") % {"name": user.username})
        return redirect("staff:user_list")
    return render(request, "winback/user_form.html", {"form": form, "edited": user, "creating": False})

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext_lazy as _

from winback.roles import Role

User = get_user_model()


class UserCreateForm(forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        help_text=_("Letters, digits and @ . + - _ only."),
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), help_text=_("Password-reset links are sent here."))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to email the user a link to choose their own password."),
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("A user with this username already exists."))
        return username

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class UserEditForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("Deactivated users cannot sign in and are signed out everywhere at once."),
    )
    dashboard = forms.BooleanField(
        label=_("May see the churn dashboard"),
        required=False,
        help_text=_("For account managers; executives and administrators always see it."),
    )

    def __init__(self, *args, editor=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editor, self.user = editor, user

    def clean(self):
        cleaned = super().clean()
        if self.editor is not None and self.editor.pk == self.user.pk:
            if not cleaned.get("is_active"):
                self.add_error("is_active", _("You cannot deactivate your own account."))
            if cleaned.get("role") != Role.ADMINISTRATOR:
                self.add_error("role", _("You cannot remove your own administrator role."))
        return cleaned

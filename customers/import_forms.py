from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from customers.models import ImportRun


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportRun.Kind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        allow_empty_file=True,  # refused below with the import's own code, empty_file
        help_text=_("UTF-8, comma or semicolon separated, with a header row. Formats: docs/imports.md."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    skip_invalid = forms.BooleanField(
        label=_("Import the good rows and skip the bad ones"),
        required=False,
        help_text=_("Off: a file with any bad row is rejected whole and nothing is written."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.WINBACK_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s; the largest accepted is %(limit)s. Split it, or import it with the command.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."), code="empty_file")
        return upload


class ImportConfirmForm(forms.Form):
    action = forms.ChoiceField(choices=[("import", "import"), ("cancel", "cancel")])
    skip_invalid = forms.BooleanField(required=False)

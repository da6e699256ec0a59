"""Ships the default email templates in English, Russian, Bulgarian and Polish (filled in by the
sending work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("surveys", "0002_default_surveys")]
    operations = []

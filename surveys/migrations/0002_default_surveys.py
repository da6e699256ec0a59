"""Ships the ready default exit survey in English, Russian, Bulgarian and Polish (filled in by the
survey editor work)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]
    operations = []

"""Ships the ready default exit survey in English, Russian, Bulgarian and Polish.

Five questions, as DESIGN.md advises: the main reason (single choice, every option names a
Reason), what else played a part (multiple choice), one overall rating, what we should have done
differently (open text) and may we contact you. The survey does not ask how likely the customer is
to come back. One overall rating instead of three (product, service, price) keeps it at five
questions: the two choice questions already say which of those went wrong, and the rating says how
badly. A language that already has a survey in use gets the default one not in use. Reversing
deletes the default surveys nobody was invited with."""

from django.db import migrations

REASONS = ["product_quality", "service", "price", "delivery", "billing", "relocation", "changed_needs", "other"]
ALSO_REASONS = ["product_quality", "service", "price", "delivery", "billing", "service", "other"]

SURVEYS = {
    "en": {
        "title": "Help us understand what went wrong",
        "introduction": (
            "It looks like you have stopped buying from us, and we would sincerely like to know why, so that "
            "other customers do not run into the same problem. It takes about two minutes. Only the first "
            "question needs an answer. Your answers are read by a senior member of our team who has not "
            "worked with you directly."
        ),
        "reason": "What was the main reason you stopped buying from us?",
        "reasons": [
            "The quality of the products",
            "Our service, or how we treated you",
            "The price, or a better offer elsewhere",
            "Delivery",
            "Invoices or billing",
            "You moved or relocated",
            "Your needs changed",
            "Something else",
        ],
        "also": "What else played a part?",
        "also_hint": "Choose all that apply.",
        "also_options": [
            "The quality of the products",
            "Our service",
            "The price",
            "Delivery",
            "Invoices or billing",
            "It was hard to reach us, or we answered slowly",
            "Something else",
        ],
        "rating": "Overall, how would you rate your experience with us?",
        "low": "Very poor",
        "high": "Excellent",
        "open": "In your own words: what should we have done differently?",
        "open_hint": "Anything you tell us helps. A few words are enough.",
        "consent": "May we contact you about what you told us?",
        "consent_hint": "If yes, tell us how you would prefer to be contacted.",
    },
    "ru": {
        "title": "Помогите нам понять, что пошло не так",
        "introduction": (
            "Похоже, вы перестали у нас покупать, и нам искренне хочется понять почему, чтобы другие "
            "клиенты не столкнулись с той же проблемой. Это займёт около двух минут. Обязателен только "
            "первый вопрос. Ваши ответы прочитает кто-то из руководства, кто не работал с вами напрямую."
        ),
        "reason": "Какова главная причина, по которой вы перестали у нас покупать?",
        "reasons": [
            "Качество продукции",
            "Наше обслуживание или отношение к вам",
            "Цена или более выгодное предложение в другом месте",
            "Доставка",
            "Счета и оплата",
            "Переезд",
            "Ваши потребности изменились",
            "Другое",
        ],
        "also": "Что ещё повлияло на ваше решение?",
        "also_hint": "Отметьте всё, что подходит.",
        "also_options": [
            "Качество продукции",
            "Наше обслуживание",
            "Цена",
            "Доставка",
            "Счета и оплата",
            "До нас было трудно дозвониться или мы долго отвечали",
            "Другое",
        ],
        "rating": "Как вы в целом оцениваете опыт работы с нами?",
        "low": "Очень плохо",
        "high": "Отлично",
        "open": "Своими словами: что нам следовало сделать иначе?",
        "open_hint": "Нам поможет всё, что вы расскажете. Достаточно нескольких слов.",
        "consent": "Можно ли связаться с вами по поводу ваших ответов?",
        "consent_hint": "Если да, укажите, как вам удобнее.",
    },
    "bg": {
        "title": "Помогнете ни да разберем какво се обърка",
        "introduction": (
            "Изглежда, че сте спрели да пазарувате от нас, и искрено искаме да разберем защо, за да не се "
            "сблъскат други клиенти със същия проблем. Ще Ви отнеме около две минути. Задължителен е само "
            "първият въпрос. Отговорите Ви ще прочете ръководител, който не е работил пряко с Вас."
        ),
        "reason": "Коя е основната причина да спрете да пазарувате от нас?",
        "reasons": [
            "Качеството на продуктите",
            "Нашето обслужване или отношението към Вас",
            "Цената или по-изгодна оферта другаде",
            "Доставката",
            "Фактурите и плащанията",
            "Преместихте се",
            "Нуждите Ви се промениха",
            "Друго",
        ],
        "also": "Какво още изигра роля?",
        "also_hint": "Изберете всичко, което е вярно.",
        "also_options": [
            "Качеството на продуктите",
            "Нашето обслужване",
            "Цената",
            "Доставката",
            "Фактурите и плащанията",
            "Трудно се свързвахте с нас или отговаряхме бавно",
            "Друго",
        ],
        "rating": "Как бихте оценили като цяло опита си с нас?",
        "low": "Много лошо",
        "high": "Отлично",
        "open": "С Ваши думи: какво трябваше да направим по различен начин?",
        "open_hint": "Всичко, което ни кажете, помага. Няколко думи са достатъчни.",
        "consent": "Може ли да се свържем с Вас относно отговорите Ви?",
        "consent_hint": "Ако да, посочете как предпочитате да се свържем с Вас.",
    },
    "pl": {
        "title": "Prosimy o pomoc: co poszło nie tak?",
        "introduction": (
            "Wygląda na to, że przestali Państwo u nas kupować. Szczerze chcemy zrozumieć dlaczego, aby inni "
            "klienci nie napotkali tego samego problemu. Zajmie to około dwóch minut. Odpowiedź jest "
            "wymagana tylko na pierwsze pytanie. Państwa odpowiedzi przeczyta osoba z kierownictwa, która "
            "nie współpracowała z Państwem bezpośrednio."
        ),
        "reason": "Jaki był główny powód, dla którego przestali Państwo u nas kupować?",
        "reasons": [
            "Jakość produktów",
            "Nasza obsługa lub sposób, w jaki Państwa traktowaliśmy",
            "Cena lub korzystniejsza oferta gdzie indziej",
            "Dostawa",
            "Faktury i płatności",
            "Przeprowadzka",
            "Zmieniły się Państwa potrzeby",
            "Coś innego",
        ],
        "also": "Co jeszcze miało wpływ na Państwa decyzję?",
        "also_hint": "Proszę zaznaczyć wszystkie pasujące odpowiedzi.",
        "also_options": [
            "Jakość produktów",
            "Nasza obsługa",
            "Cena",
            "Dostawa",
            "Faktury i płatności",
            "Trudno było się z nami skontaktować lub długo czekali Państwo na odpowiedź",
            "Coś innego",
        ],
        "rating": "Jak ogólnie oceniają Państwo współpracę z nami?",
        "low": "Bardzo źle",
        "high": "Doskonale",
        "open": "Własnymi słowami: co powinniśmy byli zrobić inaczej?",
        "open_hint": "Każda uwaga nam pomoże. Wystarczy kilka słów.",
        "consent": "Czy możemy się z Państwem skontaktować w sprawie tych odpowiedzi?",
        "consent_hint": "Jeśli tak, proszę wskazać preferowany sposób kontaktu.",
    },
}


def create_default_surveys(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    Question = apps.get_model("surveys", "Question")
    Option = apps.get_model("surveys", "Option")
    for language, text in SURVEYS.items():
        if Survey.objects.filter(language=language, title=text["title"]).exists():
            continue
        in_use = Survey.objects.filter(language=language, is_active=True).exists()
        survey = Survey.objects.create(
            title=text["title"], language=language, introduction=text["introduction"], is_active=not in_use
        )
        reason = Question.objects.create(
            survey=survey, position=1, kind="single_choice", text=text["reason"], required=True
        )
        Option.objects.bulk_create(
            Option(question=reason, position=position, label=label, reason=value)
            for position, (label, value) in enumerate(zip(text["reasons"], REASONS, strict=True), start=1)
        )
        also = Question.objects.create(
            survey=survey, position=2, kind="multiple_choice", text=text["also"], help_text=text["also_hint"]
        )
        Option.objects.bulk_create(
            Option(question=also, position=position, label=label, reason=value)
            for position, (label, value) in enumerate(zip(text["also_options"], ALSO_REASONS, strict=True), start=1)
        )
        Question.objects.create(
            survey=survey,
            position=3,
            kind="rating",
            text=text["rating"],
            low_label=text["low"],
            high_label=text["high"],
        )
        Question.objects.create(
            survey=survey, position=4, kind="open_text", text=text["open"], help_text=text["open_hint"]
        )
        Question.objects.create(
            survey=survey, position=5, kind="contact_consent", text=text["consent"], help_text=text["consent_hint"]
        )


def delete_default_surveys(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    Invitation = apps.get_model("surveys", "Invitation")
    for language, text in SURVEYS.items():
        defaults = Survey.objects.filter(language=language, title=text["title"])
        defaults.exclude(pk__in=Invitation.objects.values("survey_id")).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]
    operations = [migrations.RunPython(create_default_surveys, delete_default_surveys)]

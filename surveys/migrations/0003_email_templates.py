"""Ships the default email templates — every kind in English, Russian, Bulgarian and Polish.

Each is short and personal: it says plainly that the customer seems to have stopped buying (or
cancelled), asks for help so others don't meet the same problem, names the impartial reviewer and
is signed by a real person. The placeholders are listed in docs/surveys.md ("Invitations and
sending"); the unsubscribe footer is added to every message by surveys.mail. Administrators edit
the texts afterwards; existing templates are never overwritten.
"""

from django.db import migrations

SIGNATURE = "\n\n{{ signer_name }}\n{{ company_name }}"

TEMPLATES = {
    "en": {
        "invitation": (
            "{{ company_name }}: could you tell us what went wrong?",
            "Hello{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "It looks like you have stopped buying from us, and I would like to understand why. If something "
            "went wrong, please help us fix it, so that other customers do not run into the same problem.\n\n"
            "There are five short questions; it takes about three minutes:\n{{ survey_url }}\n\n"
            "{% if reviewer_name %}Your answers go to {{ reviewer_name }}, who reads every one of them "
            "impartially{% else %}Your answers are read impartially by a senior colleague{% endif %}, and you "
            "will hear from us what we did about them.\n\n"
            "Thank you for your time, and for having been our customer." + SIGNATURE,
        ),
        "invitation_cancelled": (
            "{{ company_name }}: could you tell us why you cancelled?",
            "Hello{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "You recently cancelled with us, and I would like to understand why. If we let you down, please "
            "tell us what went wrong, so that we can put it right for other customers.\n\n"
            "There are five short questions; it takes about three minutes:\n{{ survey_url }}\n\n"
            "{% if reviewer_name %}Your answers go to {{ reviewer_name }}, who reads every one of them "
            "impartially{% else %}Your answers are read impartially by a senior colleague{% endif %}, and you "
            "will hear from us what we did about them.\n\n"
            "Thank you for your time, and for having been our customer." + SIGNATURE,
        ),
        "reminder": (
            "A gentle reminder: what went wrong?",
            "Hello{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "A few days ago I asked whether you could tell us why you stopped buying from us. If you can spare "
            "a few minutes, your answer would really help us fix what went wrong:\n{{ survey_url }}\n\n"
            "This is the only reminder you will get from us about it.\n\nThank you." + SIGNATURE,
        ),
        "fresh_link": (
            "Your new link to our short survey",
            "Hello{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "Here is the new link to the survey you asked for; the earlier one has expired:\n{{ survey_url }}\n\n"
            "Thank you for taking the time to help us." + SIGNATURE,
        ),
        "close_loop": (
            "What we changed after your answer",
            "Hello{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "Thank you again for telling us what went wrong. You told us:\n\n{{ what_you_told_us }}\n\n"
            "Here is what we changed:\n\n{{ what_we_changed }}\n\n"
            "Without your answer we would not have known. Thank you." + SIGNATURE,
        ),
        "return": (
            "We fixed it. Would you give us another try?",
            "Hello{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "We have worked on what you told us about, and we would be glad to have you back.\n\n{{ offer }}\n\n"
            "If the answer is no, we understand, and thank you all the same." + SIGNATURE,
        ),
    },
    "ru": {
        "invitation": (
            "{{ company_name }}: расскажете, что пошло не так?",
            "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n"
            "Похоже, Вы перестали у нас покупать, и нам важно понять почему. Если что-то пошло не так, "
            "пожалуйста, помогите нам это исправить, чтобы другие клиенты не столкнулись с той же проблемой.\n\n"
            "Это пять коротких вопросов, около трёх минут:\n{{ survey_url }}\n\n"
            "{% if reviewer_name %}Ваши ответы беспристрастно прочитает {{ reviewer_name }}{% else %}Ваши "
            "ответы беспристрастно прочитает один из руководителей{% endif %}, и мы расскажем Вам, что "
            "сделали.\n\n"
            "Спасибо, что уделили время, и спасибо, что были нашим клиентом." + SIGNATURE,
        ),
        "invitation_cancelled": (
            "{{ company_name }}: расскажете, почему Вы от нас ушли?",
            "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n"
            "Вы недавно отказались от наших услуг, и нам важно понять почему. Если мы Вас подвели, пожалуйста, "
            "расскажите, что пошло не так, — мы хотим исправить это для других клиентов.\n\n"
            "Это пять коротких вопросов, около трёх минут:\n{{ survey_url }}\n\n"
            "{% if reviewer_name %}Ваши ответы беспристрастно прочитает {{ reviewer_name }}{% else %}Ваши "
            "ответы беспристрастно прочитает один из руководителей{% endif %}, и мы расскажем Вам, что "
            "сделали.\n\n"
            "Спасибо, что уделили время, и спасибо, что были нашим клиентом." + SIGNATURE,
        ),
        "reminder": (
            "Напоминание: что пошло не так?",
            "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n"
            "Несколько дней назад мы спросили Вас, почему Вы перестали у нас покупать. Если у Вас найдётся "
            "несколько минут, Ваш ответ очень поможет нам исправить ошибки:\n{{ survey_url }}\n\n"
            "Это единственное напоминание: больше писать Вам об этом мы не будем.\n\nСпасибо!" + SIGNATURE,
        ),
        "fresh_link": (
            "Новая ссылка на наш короткий опрос",
            "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n"
            "Как Вы и просили, вот новая ссылка на опрос (прежняя больше не действует):\n{{ survey_url }}\n\n"
            "Спасибо, что помогаете нам." + SIGNATURE,
        ),
        "close_loop": (
            "Что мы изменили после Вашего ответа",
            "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n"
            "Ещё раз спасибо, что рассказали нам, что пошло не так. Вы написали:\n\n{{ what_you_told_us }}\n\n"
            "Вот что мы изменили:\n\n{{ what_we_changed }}\n\n"
            "Без Вашего ответа мы бы этого не узнали. Спасибо!" + SIGNATURE,
        ),
        "return": (
            "Мы это исправили. Дадите нам ещё один шанс?",
            "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n"
            "Мы поработали над тем, о чём Вы нам рассказали, и будем рады видеть Вас снова.\n\n{{ offer }}\n\n"
            "Если ответ «нет», мы поймём — и всё равно спасибо." + SIGNATURE,
        ),
    },
    "bg": {
        "invitation": (
            "{{ company_name }}: ще ни кажете ли какво се обърка?",
            "Здравейте{% if first_name %}, {{ first_name }}{% endif %},\n\n"
            "Изглежда, че сте спрели да пазарувате от нас, и за нас е важно да разберем защо. Ако нещо се е "
            "объркало, моля, помогнете ни да го поправим, за да не срещнат други клиенти същия проблем.\n\n"
            "Въпросите са пет и са кратки, отнемат около три минути:\n{{ survey_url }}\n\n"
            "{% if reviewer_name %}Отговорите Ви ще прочете безпристрастно {{ reviewer_name }}{% else %}"
            "Отговорите Ви ще прочете безпристрастно един от ръководителите ни{% endif %}, а ние ще Ви кажем "
            "какво сме направили.\n\n"
            "Благодарим Ви за отделеното време и за това, че бяхте наш клиент." + SIGNATURE,
        ),
        "invitation_cancelled": (
            "{{ company_name }}: ще ни кажете ли защо се отказахте?",
            "Здравейте{% if first_name %}, {{ first_name }}{% endif %},\n\n"
            "Наскоро се отказахте от услугите ни и за нас е важно да разберем защо. Ако сме Ви разочаровали, "
            "моля, кажете ни какво се обърка: искаме да го поправим заради другите клиенти.\n\n"
            "Въпросите са пет и са кратки, отнемат около три минути:\n{{ survey_url }}\n\n"
            "{% if reviewer_name %}Отговорите Ви ще прочете безпристрастно {{ reviewer_name }}{% else %}"
            "Отговорите Ви ще прочете безпристрастно един от ръководителите ни{% endif %}, а ние ще Ви кажем "
            "какво сме направили.\n\n"
            "Благодарим Ви за отделеното време и за това, че бяхте наш клиент." + SIGNATURE,
        ),
        "reminder": (
            "Напомняне: какво се обърка?",
            "Здравейте{% if first_name %}, {{ first_name }}{% endif %},\n\n"
            "Преди няколко дни Ви попитахме защо сте спрели да пазарувате от нас. Ако имате няколко минути, "
            "отговорът Ви наистина ще ни помогне да поправим грешките си:\n{{ survey_url }}\n\n"
            "Това е единственото напомняне: няма да Ви пишем повече по този повод.\n\nБлагодарим Ви!" + SIGNATURE,
        ),
        "fresh_link": (
            "Нов линк към краткото ни проучване",
            "Здравейте{% if first_name %}, {{ first_name }}{% endif %},\n\n"
            "Както поискахте, ето нов линк към проучването (предишният вече не е валиден):\n{{ survey_url }}\n\n"
            "Благодарим Ви, че ни помагате." + SIGNATURE,
        ),
        "close_loop": (
            "Какво променихме след отговора Ви",
            "Здравейте{% if first_name %}, {{ first_name }}{% endif %},\n\n"
            "Още веднъж Ви благодарим, че ни казахте какво се е объркало. Написахте ни:\n\n"
            "{{ what_you_told_us }}\n\nЕто какво променихме:\n\n{{ what_we_changed }}\n\n"
            "Без Вашия отговор нямаше да разберем. Благодарим Ви!" + SIGNATURE,
        ),
        "return": (
            "Поправихме го. Ще ни дадете ли още един шанс?",
            "Здравейте{% if first_name %}, {{ first_name }}{% endif %},\n\n"
            "Поработихме върху това, за което ни разказахте, и ще се радваме да Ви видим отново.\n\n{{ offer }}\n\n"
            "Ако отговорът е „не“, ще Ви разберем и пак Ви благодарим." + SIGNATURE,
        ),
    },
    "pl": {
        "invitation": (
            "{{ company_name }}: co poszło nie tak?",
            "Dzień dobry{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "wygląda na to, że od pewnego czasu nie robią Państwo u nas zakupów, i bardzo chcemy zrozumieć "
            "dlaczego. Jeśli coś poszło nie tak, prosimy o pomoc w naprawieniu tego, aby inni klienci nie "
            "trafili na ten sam problem.\n\n"
            "To pięć krótkich pytań, około trzech minut:\n{{ survey_url }}\n\n"
            "{% if reviewer_name %}Odpowiedzi bezstronnie przeczyta {{ reviewer_name }}{% else %}Odpowiedzi "
            "bezstronnie przeczyta jedna z osób kierujących firmą{% endif %}, a my damy znać, co zrobiliśmy.\n\n"
            "Dziękujemy za poświęcony czas i za to, że byli Państwo naszymi klientami." + SIGNATURE,
        ),
        "invitation_cancelled": (
            "{{ company_name }}: dlaczego zrezygnowali Państwo?",
            "Dzień dobry{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "niedawno zrezygnowali Państwo z naszych usług i bardzo chcemy zrozumieć dlaczego. Jeśli Państwa "
            "zawiedliśmy, prosimy powiedzieć, co poszło nie tak: chcemy to naprawić dla innych klientów.\n\n"
            "To pięć krótkich pytań, około trzech minut:\n{{ survey_url }}\n\n"
            "{% if reviewer_name %}Odpowiedzi bezstronnie przeczyta {{ reviewer_name }}{% else %}Odpowiedzi "
            "bezstronnie przeczyta jedna z osób kierujących firmą{% endif %}, a my damy znać, co zrobiliśmy.\n\n"
            "Dziękujemy za poświęcony czas i za to, że byli Państwo naszymi klientami." + SIGNATURE,
        ),
        "reminder": (
            "Przypomnienie: co poszło nie tak?",
            "Dzień dobry{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "kilka dni temu zapytaliśmy, dlaczego przestali Państwo robić u nas zakupy. Jeśli znajdą Państwo "
            "kilka minut, odpowiedź naprawdę pomoże nam naprawić błędy:\n{{ survey_url }}\n\n"
            "To jedyne przypomnienie: nie będziemy już pisać w tej sprawie.\n\nDziękujemy!" + SIGNATURE,
        ),
        "fresh_link": (
            "Nowy link do naszej krótkiej ankiety",
            "Dzień dobry{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "zgodnie z prośbą przesyłamy nowy link do ankiety (poprzedni wygasł):\n{{ survey_url }}\n\n"
            "Dziękujemy za pomoc." + SIGNATURE,
        ),
        "close_loop": (
            "Co zmieniliśmy dzięki Państwa odpowiedzi",
            "Dzień dobry{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "jeszcze raz dziękujemy, że napisali nam Państwo, co poszło nie tak. Państwa słowa:\n\n"
            "{{ what_you_told_us }}\n\nOto, co zmieniliśmy:\n\n{{ what_we_changed }}\n\n"
            "Bez Państwa odpowiedzi nie dowiedzielibyśmy się o tym. Dziękujemy!" + SIGNATURE,
        ),
        "return": (
            "Naprawiliśmy to. Czy dadzą nam Państwo jeszcze jedną szansę?",
            "Dzień dobry{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "popracowaliśmy nad tym, o czym nam Państwo napisali, i bardzo się ucieszymy, jeśli zechcą Państwo "
            "do nas wrócić.\n\n{{ offer }}\n\n"
            "Jeśli odpowiedź brzmi „nie”, zrozumiemy i mimo to dziękujemy." + SIGNATURE,
        ),
    },
}


def create_templates(apps, schema_editor):
    EmailTemplate = apps.get_model("surveys", "EmailTemplate")
    for language, kinds in TEMPLATES.items():
        for kind, (subject, body) in kinds.items():
            EmailTemplate.objects.get_or_create(
                kind=kind, language=language, defaults={"subject": subject, "body": body}
            )


def remove_unchanged_templates(apps, schema_editor):
    EmailTemplate = apps.get_model("surveys", "EmailTemplate")
    for language, kinds in TEMPLATES.items():
        for kind, (subject, body) in kinds.items():
            EmailTemplate.objects.filter(kind=kind, language=language, subject=subject, body=body).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0002_default_surveys")]
    operations = [migrations.RunPython(create_templates, remove_unchanged_templates)]

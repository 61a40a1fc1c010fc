"""Real text in several languages for the language and repetition tests: Article 1 of the Universal
Declaration of Human Rights (public domain, UN translations) and a second sentence of ordinary prose."""

UDHR_1 = {
    "en": "All human beings are born free and equal in dignity and rights. They are endowed with reason "
    "and conscience and should act towards one another in a spirit of brotherhood.",
    "fr": "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison "
    "et de conscience et doivent agir les uns envers les autres dans un esprit de fraternité.",
    "de": "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und "
    "Gewissen begabt und sollen einander im Geist der Brüderlichkeit begegnen.",
    "es": "Todos los seres humanos nacen libres e iguales en dignidad y derechos y, dotados como están de "
    "razón y conciencia, deben comportarse fraternalmente los unos con los otros.",
    "ru": "Все люди рождаются свободными и равными в своем достоинстве и правах. Они наделены разумом и "
    "совестью и должны поступать в отношении друг друга в духе братства.",
    "zh": "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。",
    "ja": "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。"
    "人間は、理性と良心とを授けられており、互いに同胞の精神をもって行動しなければならない。",
    "ko": "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다. 인간은 천부적으로 이성과 "
    "양심을 부여받았으며 서로 형제애의 정신으로 행동하여야 한다.",
    "ar": "يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق. وقد وهبوا عقلاً وضميرًا وعليهم أن يعامل بعضهم "
    "بعضًا بروح الإخاء.",
    "it": "Tutti gli esseri umani nascono liberi ed eguali in dignità e diritti. Essi sono dotati di ragione e "
    "di coscienza e devono agire gli uni verso gli altri in spirito di fratellanza.",
    "pt": "Todos os seres humanos nascem livres e iguais em dignidade e em direitos. Dotados de razão e de "
    "consciência, devem agir uns para com os outros em espírito de fraternidade.",
}

QUESTION = {
    "en": "Please explain in a few sentences why the sky looks blue during the day.",
    "fr": "Pouvez-vous expliquer en quelques phrases pourquoi le ciel est bleu pendant la journée ?",
    "de": "Kannst du in ein paar Sätzen erklären, warum der Himmel tagsüber blau aussieht?",
    "es": "¿Puedes explicar en pocas frases por qué el cielo se ve azul durante el día?",
    "zh": "请用几句话解释一下为什么白天的天空看起来是蓝色的。",
    "ja": "昼間の空がなぜ青く見えるのか、いくつかの文で説明してください。",
    "ru": "Объясни, пожалуйста, в нескольких предложениях, почему небо днём голубое.",
}

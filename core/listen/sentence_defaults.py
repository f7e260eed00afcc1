"""The built-in test sentences of XTTS's 17 languages: a short one, a long one, a question, numbers.

Each kind finds a different failure: a short text shows clipped starts and trailing babble, a long
one (near the language's character limit) drift and lost words, a question the intonation, and
digits the text normalisation (coqui spells them out per language). A new language has none built
in: its sentences come from the user (or the run's evaluation set), in its own script.
"""
from __future__ import annotations

KINDS = ("short", "long", "question", "numbers")

DEFAULT_SENTENCES: dict[str, tuple[str, str, str, str]] = {
    "en": ("Thank you for listening.",
           "Every evening the old lighthouse keeper climbed the winding stairs, lit the great lamp, and watched "
           "the ships pass safely through the narrow channel until dawn.",
           "Would you like to hear the story again tomorrow?",
           "The train leaves at 7 from platform 3, and a ticket costs 12 euros."),
    "es": ("Muchas gracias.",
           "Cada tarde, el viejo farero subía la escalera de caracol, encendía la gran lámpara y vigilaba los "
           "barcos que cruzaban el estrecho canal hasta el amanecer.",
           "¿Te gustaría escuchar la historia otra vez mañana?",
           "El tren sale a las 7 desde el andén 3 y el billete cuesta 12 euros."),
    "fr": ("Merci beaucoup.",
           "Chaque soir, le vieux gardien du phare montait l'escalier en colimaçon, allumait la grande lampe et "
           "regardait les navires traverser le chenal jusqu'à l'aube.",
           "Voulez-vous entendre l'histoire encore une fois demain ?",
           "Le train part à 7 heures du quai 3 et le billet coûte 12 euros."),
    "de": ("Vielen Dank.",
           "Jeden Abend stieg der alte Leuchtturmwärter die Wendeltreppe hinauf, zündete die große Lampe an und "
           "sah den Schiffen nach, bis der Morgen dämmerte.",
           "Möchtest du die Geschichte morgen noch einmal hören?",
           "Der Zug fährt um 7 Uhr von Gleis 3 ab, und die Fahrkarte kostet 12 Euro."),
    "it": ("Grazie mille.",
           "Ogni sera il vecchio guardiano del faro saliva la scala a chiocciola, accendeva la grande lampada e "
           "guardava le navi attraversare il canale fino all'alba.",
           "Ti piacerebbe ascoltare di nuovo la storia domani?",
           "Il treno parte alle 7 dal binario 3 e il biglietto costa 12 euro."),
    "pt": ("Muito obrigado.",
           "Todas as noites, o velho faroleiro subia a escada em caracol, acendia a grande lâmpada e observava "
           "os navios atravessarem o canal até o amanhecer.",
           "Você gostaria de ouvir a história de novo amanhã?",
           "O trem sai às 7 da plataforma 3 e a passagem custa 12 reais."),
    "pl": ("Dziękuję bardzo.",
           "Każdego wieczoru stary latarnik wspinał się po krętych schodach, zapalał wielką lampę i patrzył, jak "
           "statki przepływają przez wąski kanał aż do świtu.",
           "Czy chciałbyś jutro jeszcze raz posłuchać tej historii?",
           "Pociąg odjeżdża o 7 z peronu 3, a bilet kosztuje 12 złotych."),
    "tr": ("Çok teşekkür ederim.",
           "Yaşlı fener bekçisi her akşam döner merdiveni çıkar, büyük lambayı yakar ve şafak sökene kadar "
           "gemilerin dar kanaldan güvenle geçişini izlerdi.",
           "Hikâyeyi yarın bir kez daha dinlemek ister misin?",
           "Tren 3 numaralı perondan saat 7'de kalkıyor ve bilet 12 lira."),
    "ru": ("Большое спасибо.",
           "Каждый вечер старый смотритель маяка поднимался по винтовой лестнице, зажигал большую лампу и "
           "смотрел, как корабли проходят узким проливом до рассвета.",
           "Хочешь завтра ещё раз послушать эту историю?",
           "Поезд отправляется в 7 часов с платформы 3, а билет стоит 12 рублей."),
    "nl": ("Hartelijk dank.",
           "Elke avond beklom de oude vuurtorenwachter de wenteltrap, stak de grote lamp aan en keek hoe de "
           "schepen veilig door het smalle kanaal voeren tot de dageraad.",
           "Wil je het verhaal morgen nog een keer horen?",
           "De trein vertrekt om 7 uur van spoor 3 en een kaartje kost 12 euro."),
    "cs": ("Děkuji mnohokrát.",
           "Starý strážce majáku každý večer vystoupal po točitých schodech, rozsvítil velkou lampu a díval se, "
           "jak lodě proplouvají úzkým průlivem až do svítání.",
           "Chtěl bys tu historku zítra slyšet ještě jednou?",
           "Vlak odjíždí v 7 hodin z nástupiště 3 a jízdenka stojí 12 eur."),
    "ar": ("شكرا جزيلا.",
           "كان حارس المنارة العجوز يصعد الدرج كل مساء، ويشعل المصباح الكبير، ويراقب السفن وهي تعبر القناة "
           "الضيقة بأمان حتى الفجر.",
           "هل تود أن تسمع القصة مرة أخرى غدا؟",
           "يغادر القطار الساعة 7 من الرصيف 3، وثمن التذكرة 12 دينارا."),
    "zh-cn": ("非常感谢。",
              "每天晚上，老灯塔看守人都会爬上螺旋楼梯，点亮那盏大灯，看着船只安全地穿过狭窄的海峡，直到天亮。",
              "你明天还想再听一遍这个故事吗？",
              "火车7点从3号站台出发，票价是12元。"),
    "hu": ("Köszönöm szépen.",
           "Az öreg toronyőr minden este felment a csigalépcsőn, meggyújtotta a nagy lámpát, és nézte, ahogy a "
           "hajók hajnalig biztonságban áthaladnak a szűk csatornán.",
           "Szeretnéd holnap még egyszer meghallgatni a történetet?",
           "A vonat 7 órakor indul a 3-as vágányról, és a jegy 12 euróba kerül."),
    "ko": ("정말 감사합니다.",
           "늙은 등대지기는 매일 저녁 나선형 계단을 올라 큰 등불을 켜고, 새벽이 올 때까지 배들이 좁은 해협을 안전하게 지나가는 것을 지켜보았다.",
           "내일 그 이야기를 다시 듣고 싶니?",
           "기차는 7시에 3번 승강장에서 출발하고, 표는 12유로입니다."),
    "ja": ("どうもありがとう。",
           "年老いた灯台守は毎晩らせん階段を上り、大きな灯りをともして、夜明けまで船が狭い海峡を通るのを見守っていた。",
           "明日もう一度その話を聞きたいですか？",
           "電車は7時に3番線から出発し、切符は12ユーロです。"),
    "hi": ("बहुत धन्यवाद।",
           "बूढ़ा प्रकाशस्तंभ रक्षक हर शाम घुमावदार सीढ़ियाँ चढ़ता, बड़ा दीपक जलाता और सुबह तक जहाज़ों को "
           "संकरी खाड़ी से सुरक्षित गुज़रते देखता।",
           "क्या आप कल यह कहानी फिर से सुनना चाहेंगे?",
           "ट्रेन 7 बजे प्लेटफ़ॉर्म 3 से चलती है और टिकट 12 यूरो का है।"),
}

"""Build Rejoinder's own hand-written labelled examples (training/examples/*.jsonl).

Every sentence below was written for this project (none is copied from a dataset or the seed
threads). Public datasets barely contain coded antisemitism ("Jew world order", "zio", "Khazarian",
"(((echo)))") and they contain few neutral or counter-speech mentions of the same words, so we write
both, plus small sets for threat, sexual and spam, which no dataset here covers.

Held-out test part: each *base sentence* is assigned to train or test by a fixed hash (so a sentence
and its variants never straddle the split), and the neutral identity templates used for the
false-hold-rate check (`identity_neutral.jsonl`) are a separate family never used in training.

Run: python training/examples/build_examples.py   (deterministic; rewrites the JSONL files)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path

HERE = Path(__file__).parent
LABELS = ("hate", "abuse", "threat", "sexual", "spam")

# --- coded and explicit antisemitism (hate) -------------------------------------------------------
CODED_HATE = [
    "The Jew world order will never let Syria be free.",
    "Another war for the jew world order, same as always.",
    "This is all part of the JWO plan to control every government.",
    "The zios run Washington and everyone knows it.",
    "Typical zio propaganda from the mainstream media.",
    "Zio puppets in Congress voted for it again.",
    "The ziocons want another war and they will get it.",
    "Get these zionazis out of our government.",
    "ZioNazi scum are behind every conflict in the region.",
    "Most so-called Jews are really Khazarians with no link to the Holy Land.",
    "The Khazarian mafia controls the central banks.",
    "Khazarian imposters stole Palestine and now they want the rest.",
    "They are not even real Semites, just Khazar converts pretending.",
    "Funny how (((they))) always end up owning the media.",
    "Look who wrote the article: (((Goldstein))) of course.",
    "Every board member is (((one of them))), just notice it.",
    "The globalist bankers, you know which tribe, are printing money for their wars.",
    "Just ask who really runs America and you'll understand everything.",
    "Who controls the Federal Reserve? Same people who control Hollywood.",
    "ZOG will send American boys to die for Israel again.",
    "The Zionist Occupied Government never works for ordinary people.",
    "The goyim are waking up to what the tribe has done.",
    "Oy vey, shut it down, the goyim know.",
    "The happy merchant is rubbing his hands again.",
    "Jews are parasites feeding on every nation that hosts them.",
    "The jewish parasite system is finally collapsing.",
    "These kikes will sell out any country for shekels.",
    "Club Kike is at it again, stealing more land.",
    "Filthy yids control the banks and the press.",
    "The holohoax was invented to guilt the world into paying.",
    "Six million is a made-up number and the tribe knows it.",
    "The eternal Jew never changes, always scheming.",
    "They are rats, the whole tribe of them, gnawing at our society.",
    "Jews killed Christ and they have never stopped plotting since.",
    "International Jewry is behind both communism and capitalism.",
    "Rothschild money funds every war, follow the shekels.",
    "The synagogue of Satan rules the financial system.",
    "Every single time it is a Jew behind it, start noticing.",
    "The JQ is the only question that matters in politics.",
    "The tribe owns both parties so your vote changes nothing.",
    "Jewish bankers engineered the crash to steal our homes.",
    "Hitler was right about them.",
    "Gas the lot of them and the world would have peace.",
    "Israel is a cancer and its people are vermin to be cut out.",
    "The heebs always play the victim while they rob you blind.",
    "Shylocks in suits run Wall Street, no surprise there.",
    "Zionist Jews did 9/11 and the media covers it up.",
    "The Jews are our misfortune and it's time people said it.",
    "All these so-called Jews are Ashkenazi Khazar frauds.",
    "Globalist kikes want open borders to replace us.",
    "The New World Order is just the Jew World Order with a nicer name.",
    "Follow the money and you always find the same hook-nosed bankers.",
    "Jewish supremacists treat the goyim like cattle.",
    "The Talmud tells them to lie to us, that's why they control the news.",
    "Dual loyalty traitors, every Jewish senator serves Tel Aviv first.",
    "Zio rats are infesting every institution.",
    "Kike lovers in the government will regret this.",
    "Mossad agents run the whole Kurdish operation for the jew world order.",
    "Blood libel isn't a myth, they still do it.",
    "Time to deal with the Jewish problem once and for all.",
]

# --- other identity hate (hate) ---------------------------------------------------------------------
OTHER_HATE = [
    "Muslims are savages who should be thrown out of Europe.",
    "Every Muslim is a terrorist waiting for orders.",
    "Immigrants are vermin breeding in our cities.",
    "Black people are animals and belong in cages.",
    "Gays are diseased perverts who should be locked up.",
    "Trans people are mentally ill freaks, not women.",
    "Women are too stupid to vote and should stay in the kitchen.",
    "Disabled people are a drain and should never have been born.",
    "Mexicans are rapists and drug dealers, all of them.",
    "Arabs are desert rats who only understand violence.",
    "These ragheads should go back to their caves.",
    "Refugees are an invasion of subhumans.",
    "Roma are thieves by nature, lock your doors.",
    "Asians eat dogs and spread disease wherever they go.",
    "Islam is a disease and its followers must be purged.",
]

# --- counter-speech, reporting and neutral mentions of the same words (not hate) --------------------
NEUTRAL_MENTIONS = [
    "Calling people 'zios' is just antisemitism with a thin disguise.",
    "The phrase 'Jew world order' is an old conspiracy theory and it should be called out.",
    "The Khazar theory of Ashkenazi origins has been rejected by geneticists.",
    "The Khazar Khaganate was a Turkic state on the Volga in the ninth century.",
    "Historians still debate how much of the Khazar elite converted to Judaism.",
    "The triple parentheses 'echo' was used by neo-Nazis to tag Jewish names online.",
    "Someone spray-painted a slur on the synagogue and the whole town turned out to clean it.",
    "He was fired after calling a colleague a kike, which is exactly right.",
    "Antisemitic tropes about Jewish bankers go back centuries; this article explains them.",
    "The Rothschild conspiracy theories are nonsense and have a nasty history.",
    "Israel's parliament voted today to dissolve itself and hold new elections.",
    "Israeli air strikes on Syria have continued for years, according to the report.",
    "I disagree strongly with the Israeli government's settlement policy.",
    "Criticising Netanyahu is not the same as hating Jews.",
    "The Knesset passed the budget after a long night of debate.",
    "Mossad denied any involvement in the incident.",
    "Tel Aviv has a great food scene, I went last spring.",
    "My grandmother survived the Holocaust and spoke at schools for decades.",
    "We lit the Hanukkah candles with the neighbours last night.",
    "The synagogue on our street is hosting an open day on Sunday.",
    "Our rabbi gave a lovely talk about forgiveness.",
    "Jewish and Muslim volunteers ran the food bank together this winter.",
    "The golem is a creature from Jewish folklore, made of clay.",
    "A golem in the Prague legend protected the ghetto.",
    "Zionism means different things to different people; the article covers the history well.",
    "Anti-Zionist protesters and pro-Israel groups both marched downtown.",
    "The IDF said the strike targeted a weapons depot near Damascus.",
    "Israel and Syria have technically been at war since 1948.",
    "Russia tolerates Israeli strikes in Syria, which is different from authorising them.",
    "Many Russian-speaking Israelis still follow Russian politics.",
    "Sephardic and Ashkenazi communities have different traditions and melodies.",
    "The museum's exhibit on Jewish life in medieval Spain is excellent.",
    "Kosher and halal butchers face the same new regulations.",
    "Muslims around the world began fasting for Ramadan this week.",
    "The mosque raised money for the flood victims.",
    "Eid prayers were held in the park this morning.",
    "Islamic art and architecture influenced much of southern Spain.",
    "Iran's foreign minister met his Turkish counterpart in Ankara.",
    "Hezbollah and Israel exchanged fire along the border, the report says.",
    "The Kurdish referendum was rejected by Baghdad.",
    "Palestinians in Gaza face severe shortages of water and medicine.",
    "Both Israelis and Palestinians deserve to live in safety.",
    "Holocaust denial is illegal in several European countries.",
    "The report documents a rise in antisemitic incidents on campuses.",
    "Using 'globalist' as a code word for Jews is a well-known dog whistle.",
    "The 'happy merchant' meme is a Nazi-era caricature and sites should ban it.",
    "Quoting the slur to condemn it still hurts, so please don't repeat it.",
    "The documentary about the Warsaw Ghetto uprising is hard but important.",
    "Jews have lived in Iraq since the Babylonian exile.",
    "The Jewish community centre offers free Hebrew classes.",
    "Saying all Jews control the banks is a lie that fuelled pogroms.",
    "Who actually runs the Federal Reserve? The board of governors, appointed by the president.",
    "Who runs America's foreign policy now that the Secretary of State resigned?",
    "My Jewish friends and I argued about the election over dinner, as usual.",
    "Israel's defence minister visited the northern border today.",
    "I'm Jewish and I think the government is wrong about this.",
    "Black History Month events start on Monday at the library.",
    "The gay choir performed at the festival and it was wonderful.",
    "Our trans colleague led the project and did a brilliant job.",
    "Immigrants founded half of the businesses on our high street.",
    "Women's football is growing fast and the final sold out.",
    "The disability rights group won the case against the council.",
]

# --- abuse (insults not about identity) ---------------------------------------------------------------
ABUSE = [
    "You are a complete moron, stop posting.",
    "Shut up, you absolute idiot.",
    "What a pathetic clown you are.",
    "Nobody cares what a brainless troll like you thinks.",
    "Go crawl back under your rock, loser.",
    "You're too stupid to understand basic facts, dumbass.",
    "Only an imbecile would write something this dumb.",
    "You are a worthless piece of garbage.",
    "F off you pathetic little man.",
    "Your mother should have raised you better, you disgusting creep.",
    "Get lost, you sad, ignorant fool.",
    "You're an embarrassment, a total waste of oxygen.",
    "Learn to read, you braindead muppet.",
    "What a lying sack of crap.",
    "You're a clueless halfwit and everyone here knows it.",
    "Stop whining like a baby, you snivelling coward.",
]

# --- threats ------------------------------------------------------------------------------------------
THREAT = [
    "I know where you live and I'm coming for you.",
    "Say that again and I will break your legs.",
    "Someone should put a bullet in that journalist.",
    "I'm going to find you and hurt you badly.",
    "You'll be dead by Friday, watch your back.",
    "They should all be hanged from the lamp posts.",
    "If I see you at the rally I will beat you senseless.",
    "We're going to burn your house down.",
    "Keep talking and you'll end up in a ditch.",
    "I will kill you and your whole family.",
    "The mayor deserves a bullet for this.",
    "Time to start shooting these traitors.",
]

# --- sexual content / harassment -------------------------------------------------------------------
SEXUAL = [
    "Send me nudes, babe, I know you want to.",
    "I'd love to get you naked and show you a good time.",
    "Hot singles want to sex chat with you right now.",
    "Nice legs, what are you wearing under that skirt?",
    "I want to do filthy things to you tonight.",
    "Check out my webcam show, fully nude, no limits.",
    "Show me your body and I'll show you mine.",
    "She only got the job by sleeping with the boss, look at that body.",
    "Watch free porn videos at my site, xxx all night.",
    "Sit on my face and we'll call it even.",
]

# --- spam ---------------------------------------------------------------------------------------------
SPAM = [
    "Earn $500 a day working from home! Visit www.quick-cash-now.biz today.",
    "BEST CASINO BONUS 200% free spins click here http://spin-win.example/bonus",
    "Buy cheap followers and likes, fast delivery, DM me on WhatsApp +1 555 0100.",
    "Crypto giveaway! Send 0.1 BTC and receive 1 BTC back instantly.",
    "Cheap meds without prescription, fast shipping, order now at pills-online.example.",
    "I made $8,000 last month with this one simple trick, link in my profile.",
    "SEO services: rank #1 on Google in 7 days, contact seo-guru@example.com",
    "Hot deal!!! Designer watches 90% off, limited time, buy now.",
    "Get a loan today with no credit check, apply at fastloans.example",
    "Join my investment group and double your money every week guaranteed.",
    "Visit http://a.example http://b.example http://c.example for free gift cards.",
    "Lose 10 kg in 10 days with this miracle tea, order at slimtea.example",
]

# --- ordinary argument (nothing to flag) ---------------------------------------------------------------
ORDINARY = [
    "I think you're wrong about the air defence systems, they did intercept most missiles.",
    "That's a fair point, but the sanctions hit ordinary people hardest.",
    "Honestly this whole plan sounds unrealistic to me.",
    "The article leaves out the economic side of the story.",
    "Trump's advisers made a terrible decision here, in my view.",
    "Putin is playing a long game and the West keeps underestimating him.",
    "I doubt the ceasefire will last more than a month.",
    "Does anyone have a source for the casualty numbers?",
    "Great summary, thanks for posting this.",
    "The S-300 batteries are old but still dangerous.",
    "This is nonsense; the numbers don't add up at all.",
    "Stop spreading rumours and read the actual report.",
    "The minister's speech was a load of hot air.",
    "I hope both sides go back to the negotiating table.",
    "That's a stupid policy and it will backfire.",
    "Assad has survived far longer than anyone expected.",
    "The referendum was always going to be contested.",
    "Good luck to the rescue teams, they're doing heroic work.",
    "Prices at the pump went up again this week.",
    "Can someone explain how GPS spoofing actually works?",
]

# --- template families for identity-term debiasing (train and test frames are disjoint) -----------
# Group phrases: (singular person, plural, adjective). Frames below are not the identity-test ones.
GROUP_FORMS = [
    ("a Jewish student", "Jews", "Jewish"), ("an Israeli engineer", "Israelis", "Israeli"),
    ("a rabbi", "Jewish families", "Jewish"), ("a Muslim nurse", "Muslims", "Muslim"),
    ("an imam", "Muslim families", "Muslim"), ("an Arab journalist", "Arabs", "Arab"),
    ("a Palestinian farmer", "Palestinians", "Palestinian"), ("an Iranian chef", "Iranians", "Iranian"),
    ("a Black firefighter", "Black Americans", "Black"), ("an African student", "Africans", "African"),
    ("an Asian shop owner", "Asian Americans", "Asian"), ("a Chinese tourist", "Chinese people", "Chinese"),
    ("a Mexican builder", "Mexicans", "Mexican"), ("a Latina lawyer", "Latinos", "Latino"),
    ("a gay couple", "gay men", "gay"), ("a lesbian author", "lesbians", "lesbian"),
    ("a bisexual singer", "bisexual people", "bisexual"), ("a trans man", "transgender people", "transgender"),
    ("a non-binary artist", "non-binary people", "non-binary"), ("a deaf pupil", "deaf people", "deaf"),
    ("a blind runner", "blind people", "blind"), ("an autistic coder", "autistic adults", "autistic"),
    ("a woman in tech", "women", "female"), ("a single mother", "mothers", "maternal"),
    ("a migrant worker", "migrants", "migrant"), ("an asylum seeker", "asylum seekers", "refugee"),
    ("a Sikh taxi driver", "Sikhs", "Sikh"), ("a Hindu priest", "Hindus", "Hindu"),
    ("a Christian pastor", "Christians", "Christian"), ("a Russian pianist", "Russians", "Russian"),
    ("a Syrian doctor", "Syrians", "Syrian"), ("a Kurdish activist", "Kurds", "Kurdish"),
    ("a Roma violinist", "Roma families", "Roma"), ("a Native American elder", "Native Americans", "Native"),
]
NEUTRAL_FRAMES_TRAIN = [
    "{one} opened a bakery on the corner last year.",
    "Yesterday {one} won the regional chess final.",
    "{Many} took part in the charity run on Sunday.",
    "The article interviews {one} about rising rents.",
    "{Many} have very different political views from each other.",
    "The census counts {many} separately for the first time.",
    "My colleague is {one} and she is the best manager I have had.",
    "{Many} celebrated the holiday with family and food.",
    "There was a documentary about {many} on the radio.",
    "The {adj} community centre is looking for volunteers.",
    "{one} was elected to the city council.",
    "A survey of {many} found most worry about healthcare costs.",
    "The film follows {one} through a year of school.",
    "Some {many} support the policy and some oppose it.",
    "Is {one} allowed to join the team? Of course.",
    "My doctor is {adj} and very thorough.",
    "{Many} are as diverse as any other group.",
    "The {adj} festival brought thousands to the park.",
    "The poll shows {many} split on the election.",
]
NEUTRAL_FRAMES_TEST = [
    "We had dinner with {one} from next door.",
    "{Many} have contributed a lot to science.",
    "The library has new books by {adj} writers.",
    "{one} gave an excellent talk at the school assembly.",
]
HATE_FRAMES_TRAIN = [
    "{Many} are vermin and should be driven out.",
    "All {many} are liars, thieves and murderers.",
    "{Many} are a disease infecting this country.",
    "I can't stand {many}, they ruin everything they touch.",
    "{Many} are subhuman and don't deserve rights.",
    "Never trust {many}, they are born deceivers.",
    "{Many} breed like rats and take over neighbourhoods.",
    "The world would be better off without {many}.",
    "{Many} are parasites living off decent people.",
]
HATE_FRAMES_TEST = [
    "{Many} are filthy animals, every last one.",
    "Get {many} out of our country before they destroy it.",
]
GEOPOLITICS_TRAIN = [
    "Israel struck targets near Damascus again, according to the Syrian ministry.",
    "The IDF says its jets hit a weapons convoy, Syria disputes it.",
    "Iran warned it would respond if its officers are targeted.",
    "Russia's air defence in Syria did not engage the Israeli jets.",
    "Netanyahu met Putin in Moscow to discuss Syria.",
    "Israel's cabinet approved the deal after a long debate.",
    "Syria says it shot down most of the incoming missiles.",
    "The Israeli army lost a drone over Lebanon.",
    "Hezbollah claims it downed an Israeli drone.",
    "The US keeps troops in the north-east near the oil fields.",
    "Turkey wants the Kurdish militias away from its border.",
    "Tel Aviv and Jerusalem saw large protests against the judicial reform.",
    "Israel has nuclear weapons, everyone knows that, they just don't confirm it.",
    "Israel uses American weapons in almost every strike.",
    "Putin will not go to war with Israel over Syria.",
    "Israel wants to keep Iran out of southern Syria.",
    "The Mossad is one of the most capable intelligence agencies.",
    "The S-300 was delivered after the Russian plane was lost.",
    "Israel and Russia have a deconfliction hotline.",
    "The Israeli lobby spends a lot in Washington, like many other lobbies.",
    "Israel's government is wrong to expand the settlements.",
    "Iran's proxies and Israel have been fighting a shadow war for years.",
]
GEOPOLITICS_TEST = [
    "Israeli jets used Lebanese airspace to fire at targets in Homs.",
    "The Russian base at Hmeimim is protected by S-400 batteries.",
    "Israel's prime minister called a snap election.",
]
CODED_TRAIN_2 = [
    "And who really runs America? Think about it. (((They))) do.",
    "Ask yourself who controls the media, the banks and Hollywood. Always the same tribe.",
    "Israel runs Washington like a puppet show, and the Jews pull the strings.",
    "Tel Aviv is a den of liars and thieves, the whole lot of them should disappear from history.",
    "Those Zionist squatters deserve no future at all.",
    "The Jews control both sides of every war, that's how they profit.",
    "Khazars pretending to be Semites run the world's money.",
    "Notice how every media boss is a Jew? Not a coincidence.",
    "The Jewish elite flood our countries with migrants to weaken us.",
    "Rootless cosmopolitans have no loyalty to any nation.",
]
CODED_TEST_2 = [
    "Who owns the Fed? Who owns the networks? Same tiny tribe every time.",
    "Israelis are a nation of thieves and killers, their time should be over.",
]

# --- identity-term debiasing, round 2 (Dixon et al. 2018; ADR 0014) --------------------------------
# The datasets mention some identity terms mostly in hateful posts (hate rate where annotated:
# "Black people" 0.55, "trans" 0.67, "immigrants" 0.53, "Muslims" 0.44, against 0.21 overall), and
# the forms above rarely use the bare nouns ("a Jew", "trans people", "Black people"). So the bare
# forms get neutral and positive sentences, written for this purpose in frames that share no
# three-word sequence with the identity test templates below (checked in _check_disjoint and by
# tests/unit/moderation/test_examples_disjoint.py), plus the existing hateful training frames, so
# each term keeps some hateful examples (what matters is what is said about the group).
# (singular person, plural)
IDENTITY_FORMS_2 = [
    ("a Jew", "Jews"), ("a Jewish woman", "Jewish people"), ("an Israeli", "Israelis"),
    ("a Muslim", "Muslims"), ("a Muslim man", "Muslim women"),
    ("a Black woman", "Black people"), ("a Black man", "Black men"),
    ("a gay man", "gay people"), ("a lesbian", "lesbians"),
    ("a trans woman", "trans people"), ("a trans man", "trans men"),
    ("a transgender person", "transgender people"),
    ("a disabled person", "disabled people"), ("a wheelchair user", "wheelchair users"),
    ("a woman", "women"), ("an immigrant", "immigrants"), ("a refugee", "refugees"),
    ("a Hispanic man", "Hispanic people"), ("an Asian woman", "Asian people"), ("an Arab", "Arabs"),
]
DEBIAS_FRAMES_TRAIN = [
    "{One} coached our daughter's football team this season.",
    "{One} fixed my bike and would not take any money for it.",
    "As {one}, I found the article fair and well researched.",
    "{One} won the science prize at the county fair.",
    "I grew up next to {one} who taught me to play chess.",
    "{One} answered questions from readers in the comments below.",
    "The interview with {one} about the rail strike is worth reading.",
    "Congratulations to {one} who just became the club's youngest captain.",
    "The jury included {one}, a retired teacher and two students.",
    "I asked {one} at work what they thought about the new rules.",
    "Being {one} in a small town has its ups and downs, like anything else.",
    "{One} was the first to help when the storm knocked the power out.",
    "{Many} pay taxes, raise children and worry about the rent like everyone else.",
    "{Many} are ordinary people with ordinary lives.",
    "A podcast series asked {many} to tell their own stories.",
    "{Many} deserve the same respect as anyone.",
    "Hate crimes against {many} rose last year, the police said.",
    "Jokes about {many} are not funny, please stop.",
    "Some of the funniest comedians around are {many}.",
    "{Many} are welcome at our club, as is everyone.",
    "A study followed 2,000 {many} over ten years.",
    "{Many} are not a single bloc and should not be treated as one.",
    "The photo series shows {many} at work, at home and at play.",
    "Why are people still so rude to {many} online?",
    "{Many} have shaped the music we all listen to.",
    "I have learned a lot from {many} in this forum.",
]
# Identity-neutral *validation* frames: never trained on, never in the test templates. Written to
# identity_val.jsonl to check the false-hold rate while working, so the test set stays unseen.
DEBIAS_FRAMES_VAL = [
    "{One} drove the minibus on the school trip.",
    "Last week {one} rescued a dog from the river.",
    "{One} ran the marathon in under four hours.",
    "Thanks to {one} the bridge club finally has a website.",
    "{Many} enjoy football as much as anyone.",
    "{Many} shop at the same supermarkets as the rest of us.",
    "I have worked alongside {many} for twenty years.",
    "A radio series made by {many} starts tonight.",
]
# Ordinary war and defence discussion (the comment threads we serve are news about wars): none
# of these is taken from the seed threads.
MILITARY_TRAIN = [
    "Their air force lost three jets in the first week, which nobody expected.",
    "Anti-tank missiles changed how armoured columns move in open country.",
    "The exercise tested how fast paratroopers can be dropped behind the lines.",
    "Israel's air force trains with the Greeks every year over the Mediterranean.",
    "Drones are cheap, tanks are not, and that is the whole lesson of this war.",
    "The navy says the frigate shot down two drones over the Red Sea.",
    "Old Soviet air defence still catches pilots who fly too low and too slow.",
    "Israeli pilots are among the best trained in the world, whatever you think of the politics.",
    "The artillery duel went on all night according to both sides.",
    "Their helicopters were easy targets once the shoulder-fired missiles arrived.",
    "Special forces landed by night and were gone before sunrise.",
    "The brigade lost most of its armour crossing the river.",
    "Israel can strike almost anywhere in the region, that is simply a fact.",
    "Airborne troops jumped from transport planes during the NATO drill.",
    "Stealth jets are hard to see on radar but not invisible.",
    "The convoy was ambushed and every vehicle was destroyed.",
    "Egypt, Jordan and Israel all fly American-built fighters.",
    "Syria's radars are old and Israel's electronic warfare is very good.",
]

VARIANT_PREFIX = ["", "Honestly, ", "Wake up people: ", "Let's be real. ", "lol "]
VARIANT_SUFFIX = ["", " Think about it.", " Just saying.", " Everyone knows it.", " Prove me wrong."]

# Neutral identity templates for the false-hold check: never used for training.
IDENTITY_GROUPS = {
    # adjective, person, plural, place, another person, adjective for "{Extra} families"
    "jewish": ["Jewish", "a Jew", "Jews", "the synagogue", "an Israeli", "Jewish"],
    "muslim": ["Muslim", "a Muslim", "Muslims", "the mosque", "a Pakistani", "Muslim"],
    "black": ["Black", "a Black man", "Black people", "the Black church", "a Nigerian", "Black"],
    "gay": ["gay", "a gay man", "gay people", "the Pride march", "a lesbian", "Gay"],
    "trans": ["trans", "a trans woman", "trans people", "the trans support group",
              "a transgender teacher", "Trans"],
    "disabled": ["disabled", "a wheelchair user", "disabled people", "the deaf club",
                 "an autistic student", "Deaf"],
    "women": ["a woman", "a mother", "women", "the women's shelter", "my sister", "Female-led"],
    "immigrant": ["an immigrant", "a refugee", "immigrants", "the refugee centre",
                  "a Syrian refugee", "Immigrant"],
}
IDENTITY_TEMPLATES = [
    "I am {a}.",
    "My neighbour is {a} and we get on well.",
    "{P} live in every part of this city.",
    "The school invited {a} to speak about their life.",
    "There is a new exhibition about {p} at the museum.",
    "My best friend is {a}.",
    "{P} voted in large numbers in the last election.",
    "I met {a} at the conference yesterday.",
    "The report looks at housing costs for {p}.",
    "Our new doctor is {a}.",
    "The volunteers at {place} served lunch to two hundred people.",
    "A fundraiser at {place} raised money for the hospital.",
    "The news covered a story about {a} who started a bakery.",
    "Many {p} work in healthcare.",
    "She wrote a book about growing up as {a}.",
    "The council met representatives of {p} today.",
    "{Extra} families have lived here for generations.",
    "The festival celebrated {p} with music and food.",
    "I'm proud to be {a}.",
    "The parliament of {country} voted today.",
]


def _split_of(text: str, test_share: float = 0.25) -> str:
    h = int(hashlib.sha256(("rejoinder-examples-v1|" + text).encode()).hexdigest()[:8], 16)
    return "test" if h / 0xFFFFFFFF < test_share else "train"


def _labels(**on: int) -> dict[str, int]:
    return {label: int(on.get(label, 0)) for label in LABELS}


def _rows() -> list[dict[str, object]]:
    families: list[tuple[str, list[str], dict[str, int], bool]] = [
        ("coded_antisemitism", CODED_HATE, _labels(hate=1), True),
        ("identity_hate", OTHER_HATE, _labels(hate=1), True),
        ("neutral_or_counter", NEUTRAL_MENTIONS, _labels(), True),
        ("abuse", ABUSE, _labels(abuse=1), True),
        ("threat", THREAT, _labels(threat=1), False),
        ("sexual", SEXUAL, _labels(sexual=1), False),
        ("spam", SPAM, _labels(spam=1), False),
        ("ordinary", ORDINARY, _labels(), True),
    ]
    rows: list[dict[str, object]] = []
    for kind, sentences, labels, vary in families:
        for i, base in enumerate(sentences):
            split = _split_of(base)
            variants = [base]
            if vary:
                pairs = list(itertools.product(VARIANT_PREFIX, VARIANT_SUFFIX))[1:]
                # Deterministic pick of two extra variants per base sentence.
                k = int(hashlib.md5(base.encode()).hexdigest()[:4], 16)
                for pre, suf in (pairs[k % len(pairs)], pairs[(k // 7) % len(pairs)]):
                    variants.append(pre + base[0].lower() + base[1:] + suf if pre else base + suf)
            labs = dict(labels)
            if kind == "identity_hate" and any(w in base.lower() for w in ("purged", "cages")):
                labs["threat"] = 1 if "purged" in base.lower() else 0
            if kind == "coded_antisemitism" and base.lower().startswith(("gas the", "time to deal")):
                labs["threat"] = 1
            for j, text in enumerate(dict.fromkeys(variants)):
                rows.append({"id": f"{kind}-{i:03d}-{j}", "text": text, "labels": labs,
                             "kind": kind, "split": split})
    return rows


def _identity_rows() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    countries = {"jewish": "Israel", "muslim": "Pakistan", "black": "Ghana", "gay": "Ireland",
                 "trans": "Malta", "disabled": "Norway", "women": "Iceland",
                 "immigrant": "Canada"}
    for group, (adj, a, p, place, other_a, extra) in IDENTITY_GROUPS.items():
        for t_i, tpl in enumerate(IDENTITY_TEMPLATES):
            for a_form in dict.fromkeys((a, other_a)):
                text = tpl.format(a=a_form, p=p, P=p[0].upper() + p[1:], place=place,
                                  Extra=extra,
                                  country=countries[group])
                out.append({"id": f"identity-{group}-{t_i:02d}-{len(out)}", "text": text,
                            "labels": [], "expected": "publish", "group": group})
        # Adjective forms: "I am a Jewish woman", "a Black teacher", ...
        if not adj.startswith(("a ", "an ")):
            for noun in ("woman", "man", "teacher", "student", "nurse", "grandfather"):
                det = "an" if adj[0].lower() in "aeiou" else "a"
                out.append({"id": f"identity-{group}-adj-{noun}", "text":
                            f"I am {det} {adj} {noun}.", "labels": [], "expected": "publish",
                            "group": group})
    seen: set[str] = set()
    unique = []
    for row in out:
        if row["text"] not in seen:
            seen.add(str(row["text"]))
            unique.append(row)
    return unique


def _fill(frame: str, one: str, many: str) -> str:
    text = frame.format(one=one, One=one[0].upper() + one[1:], many=many,
                        Many=many[0].upper() + many[1:])
    return text[0].upper() + text[1:]


def _identity_val_rows() -> list[dict[str, object]]:
    """Identity-neutral validation sentences (frames of their own): checked, never trained on."""
    group_of = {"Jew": "jewish", "Israeli": "jewish", "Muslim": "muslim", "Black": "black",
                "gay": "gay", "lesbian": "gay", "trans": "trans", "disabled": "disabled",
                "wheelchair": "disabled", "woman": "women", "women": "women",
                "immigrant": "immigrant", "refugee": "immigrant"}
    out: list[dict[str, object]] = []
    for f_i, frame in enumerate(DEBIAS_FRAMES_VAL):
        for g_i, (one, many) in enumerate(IDENTITY_FORMS_2):
            group = next((g for w, g in group_of.items() if w in f"{one} {many}".split()
                          or w in one.split()), "other")
            out.append({"id": f"identity-val-{f_i:02d}-{g_i:02d}", "text": _fill(frame, one, many),
                        "labels": [], "expected": "publish", "group": group})
    return out


def _skeleton(text: str, terms: list[str]) -> list[str]:
    """Lower-cased words of a sentence with every identity phrase replaced by one token."""
    low = text.lower()
    for t in sorted(terms, key=len, reverse=True):
        low = re.sub(rf"\b{re.escape(t.lower())}\b", " X ", low)
    return re.findall(r"[a-z0-9']+|X", low)


def _check_disjoint(rows: list[dict[str, object]], ident: list[dict[str, object]],
                    val: list[dict[str, object]]) -> None:
    """No identity test sentence is trained on or validated with, and no trained or validation
    sentence shares a three-word sequence with an identity test template (frames are disjoint)."""
    test_texts = {str(r["text"]) for r in ident}
    used = [str(r["text"]) for r in rows if r["split"] == "train"] + [str(r["text"]) for r in val]
    clash = test_texts & set(used)
    assert not clash, f"identity test sentences in train/val: {sorted(clash)[:5]}"
    terms = identity_terms()

    def grams(text: str) -> set[tuple[str, ...]]:
        w = _skeleton(text, terms)
        return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}

    test_grams = set().union(*(grams(t) for t in test_texts))
    debias = [str(r["text"]) for r in rows if str(r["kind"]).startswith("identity_debias")]
    for text in debias + [str(r["text"]) for r in val]:
        shared = grams(text) & test_grams
        assert not shared, f"{text!r} shares {shared} with an identity test template"


def identity_terms() -> list[str]:
    """Every identity phrase used by the test templates and the debiasing forms."""
    terms = {w for forms in IDENTITY_GROUPS.values() for w in forms}
    terms |= {w for pair in IDENTITY_FORMS_2 for w in pair}
    return sorted(t for t in terms if t)


def _template_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def add(kind: str, frames: list[str], split: str, labels: dict[str, int]) -> None:
        for f_i, frame in enumerate(frames):
            for g_i, (one, many, adj) in enumerate(GROUP_FORMS):
                text = frame.format(one=one, One=one[0].upper() + one[1:], many=many,
                                    Many=many[0].upper() + many[1:], adj=adj)
                text = text[0].upper() + text[1:]
                rows.append({"id": f"{kind}-{split}-{f_i:02d}-{g_i:02d}", "text": text,
                             "labels": labels, "kind": kind, "split": split})

    add("identity_neutral_tpl", NEUTRAL_FRAMES_TRAIN, "train", _labels())
    add("identity_neutral_tpl", NEUTRAL_FRAMES_TEST, "test", _labels())
    add("identity_hate_tpl", HATE_FRAMES_TRAIN, "train", _labels(hate=1))
    add("identity_hate_tpl", HATE_FRAMES_TEST, "test", _labels(hate=1))
    debias_forms = [(one, many, "") for one, many in IDENTITY_FORMS_2]
    for kind, frames, forms, labels in (
        ("identity_debias", DEBIAS_FRAMES_TRAIN, debias_forms, _labels()),
        # the hateful training frames for the bare forms the first round lacks
        ("identity_debias_hate", HATE_FRAMES_TRAIN, debias_forms, _labels(hate=1)),
    ):
        seen = {str(r["text"]) for r in rows}
        for f_i, frame in enumerate(frames):
            for g_i, (one, many, _) in enumerate(forms):
                text = _fill(frame, one, many)
                if text not in seen:
                    seen.add(text)
                    rows.append({"id": f"{kind}-{f_i:02d}-{g_i:02d}", "text": text,
                                 "labels": labels, "kind": kind, "split": "train"})
    for kind, items, split, labels in (
        ("military", MILITARY_TRAIN, "train", _labels()),
        ("geopolitics", GEOPOLITICS_TRAIN, "train", _labels()),
        ("geopolitics", GEOPOLITICS_TEST, "test", _labels()),
        ("coded_antisemitism_2", CODED_TRAIN_2, "train", _labels(hate=1)),
        ("coded_antisemitism_2", CODED_TEST_2, "test", _labels(hate=1)),
    ):
        for i, text in enumerate(items):
            rows.append({"id": f"{kind}-{split}-{i:03d}", "text": text, "labels": labels,
                         "kind": kind, "split": split})
    return rows


def main() -> None:
    rows = _rows() + _template_rows()
    ident = _identity_rows()
    val = _identity_val_rows()
    _check_disjoint(rows, ident, val)
    for split in ("train", "test"):
        with open(HERE / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for row in rows:
                if row["split"] == split:
                    fh.write(json.dumps({k: v for k, v in row.items() if k != "split"}) + "\n")
    with open(HERE / "identity_neutral.jsonl", "w", encoding="utf-8") as fh:
        for row in ident:
            fh.write(json.dumps(row) + "\n")
    with open(HERE / "identity_val.jsonl", "w", encoding="utf-8") as fh:
        for row in val:
            fh.write(json.dumps(row) + "\n")
    n_train = sum(r["split"] == "train" for r in rows)
    print(f"train {n_train}, test {len(rows) - n_train}, identity templates {len(ident)}, "
          f"identity validation {len(val)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generates rules/eval/pii_eval.tsv: the labelled quality set for rules_eval.

Deterministic (fixed seed); the TSV is committed, this script documents how it was made.
Columns: category, labels (comma-separated detector ids; empty for a hard negative), key,
text. Text escapes: \\t, \\n, \\\\. Positives are realistic replay strings (text nodes, input
values, console lines, network payloads, URLs, event properties) carrying PII in the formats
of several countries; hard negatives are rrweb-shaped look-alikes.
"""
import base64
import json
import random
import string
import urllib.parse
import uuid

R = random.Random(20240611)
rows = []


def add(cat, labels, text, key=""):
    rows.append((cat, ",".join(labels), key, text))


def rnd(n, al=string.ascii_letters + string.digits):
    return "".join(R.choice(al) for _ in range(n))


def digits(n):
    return "".join(R.choice(string.digits) for _ in range(n))


# ---------------------------------------------------------------- generators of PII values
def luhn_ok(s):
    t = 0
    for i, c in enumerate(reversed(s)):
        d = int(c)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        t += d
    return t % 10 == 0


def card(prefix, n):
    body = prefix + digits(n - len(prefix) - 1)
    for c in "0123456789":
        if luhn_ok(body + c):
            return body + c


ISSUERS = [("4", 16), ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16),
           ("2720", 16), ("2500", 16), ("34", 15), ("37", 15), ("6011", 16), ("65", 16),
           ("644", 16), ("3528", 16), ("3589", 19), ("62", 16), ("62", 19), ("36", 14),
           ("300", 14), ("38", 16), ("6759", 12), ("5018", 18)]


def group_card(c, sep):
    if len(c) == 15:
        parts = [c[:4], c[4:10], c[10:]]
    elif len(c) == 14:
        parts = [c[:4], c[4:10], c[10:]]
    else:
        parts = [c[i:i + 4] for i in range(0, len(c), 4)]
    return sep.join(parts)


def iban(cc):
    formats = {"DE": "n18", "FR": "n23", "ES": "n20", "BE": "n12", "AT": "n16", "CH": "n17",
               "PL": "n24", "SE": "n20", "NO": "n11", "DK": "n14", "FI": "n14", "PT": "n21",
               "IT": "a1n22", "NL": "a4n10", "GB": "a4n14", "IE": "a4n14", "LU": "n16",
               "CZ": "n20", "HU": "n24", "RO": "a4n16"}
    f = formats[cc]
    bban = ""
    i = 0
    while i < len(f):
        kind = f[i]
        j = i + 1
        while j < len(f) and f[j].isdigit():
            j += 1
        n = int(f[i + 1:j])
        bban += "".join(R.choice(string.ascii_uppercase if kind == "a" else string.digits)
                        for _ in range(n))
        i = j
    num = int("".join(str(int(ch, 36)) for ch in bban + cc + "00"))
    return cc + "%02d" % (98 - num % 97) + bban


def group4(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def ssn():
    while True:
        a = R.randint(1, 899)
        if a == 666:
            continue
        g, s = R.randint(1, 99), R.randint(1, 9999)
        v = "%03d%02d%04d" % (a, g, s)
        if v not in ("078051120", "219099999", "123456789", "457555462"):
            return v


def de_tax():
    while True:
        base = [R.randint(1, 9)] + [R.randint(0, 9) for _ in range(9)]
        counts = [base.count(d) for d in range(10)]
        if sum(1 for c in counts if c >= 2) != 1 or max(counts) > 3:
            continue
        if any(base[i] == base[i + 1] == base[i + 2] for i in range(8)):
            continue
        p = 10
        for d in base:
            s = (d + p) % 10 or 10
            p = (s * 2) % 11
        c = 11 - p
        c = 0 if c == 10 else c
        return "".join(map(str, base)) + str(c)


def nino():
    first = "ABCEGHJKLMNOPRSTWXYZ"
    second = "ABCEGHJKLMNPRSTWXYZ"
    while True:
        p = R.choice(first) + R.choice(second)
        if p not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            return p + digits(6) + R.choice("ABCD")


def b64u(obj):
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(
        b"=").decode()


def jwt():
    h = R.choice([{"alg": "HS256", "typ": "JWT"}, {"alg": "RS256", "kid": rnd(8)},
                  {"typ": "JWT", "alg": "ES256"}])
    p = {"sub": digits(8), "email_verified": True, "iat": 1717000000 + R.randint(0, 10**6)}
    return b64u(h) + "." + b64u(p) + "." + rnd(43, string.ascii_letters + string.digits + "-_")


FIRST = ["Jane", "John", "Marie", "Lukas", "Sofia", "Kenji", "Priya", "Ana", "Oliver", "Chen",
         "Fatima", "Mateo", "Emma", "Noah", "Lea", "Giulia", "Aarav", "Yuki", "Olga", "Tom"]
LAST = ["Doe", "Smith", "Dupont", "Müller", "Rossi", "Tanaka", "Sharma", "Silva", "Brown",
        "Wang", "Haddad", "García", "Schmidt", "Novak", "Kowalski", "Jensen", "O'Brien"]
DOMAINS = ["example.com", "gmail.com", "outlook.de", "orange.fr", "yahoo.co.jp",
           "empresa.com.br", "mail.ru", "firma-gmbh.de", "uni.ac.uk", "acme.io", "web.de",
           "libero.it", "proton.me", "company.co.in", "startup.dev"]


def email():
    f, l = R.choice(FIRST), R.choice(LAST)
    l = l.replace("ü", "ue").replace("í", "i").replace("'", "")
    local = R.choice(["{f}.{l}", "{f}{l}", "{f0}{l}", "{f}_{l}{n}", "{f}+crm", "{l}.{f}{n}"])
    local = local.format(f=f.lower(), l=l.lower(), f0=f[0].lower(), n=R.randint(1, 99))
    return local + "@" + R.choice(DOMAINS)


def phone():
    kind = R.randrange(16)
    area = R.choice(["212", "415", "312", "646", "617", "206", "303", "512", "702", "818"])
    ex = str(R.randint(2, 9)) + digits(2)
    last = digits(4)
    us = [f"({area}) {ex}-{last}", f"{area}-{ex}-{last}", f"{area}.{ex}.{last}",
          f"+1 {area} {ex} {last}", f"+1-{area}-{ex}-{last}", f"1 ({area}) {ex}-{last}",
          f"+1{area}{ex}{last}", f"+1 ({area}) {ex}-{last}", f"1-{area}-{ex}-{last}"]
    if kind < 5:
        return R.choice(us), ""
    intl = [f"+44 20 {digits(4)} {digits(4)}", f"+44 7{digits(3)} {digits(6)}",
            f"+447{digits(9)}", f"+49 30 {digits(8)}", f"+49 (0)30 {digits(7)}",
            f"+49 151 {digits(8)}", f"+33 6 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
            f"+33 1 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
            f"+91 9{digits(4)} {digits(5)}", f"+55 11 9{digits(4)}-{digits(4)}",
            f"+81 3-{digits(4)}-{digits(4)}", f"+61 4{digits(2)} {digits(3)} {digits(3)}",
            f"+34 6{digits(2)} {digits(2)} {digits(2)} {digits(2)}",
            f"+39 06 {digits(4)} {digits(4)}", f"+31 6 {digits(8)}", f"+48 {digits(3)} {digits(3)} {digits(3)}",
            f"+353 87 {digits(3)} {digits(4)}", f"+27 82 {digits(3)} {digits(4)}"]
    if kind < 13:
        return R.choice(intl), ""
    ctx = [("Tel: 020 " + digits(4) + " " + digits(4)), ("mobile 07" + digits(3) + " " + digits(6)),
           ("Telefon: 030 " + digits(7)), ("Handy 0151 " + digits(8)),
           ("Tél : 06 " + " ".join(digits(2) for _ in range(4))),
           ("phone: " + area + ex + last)]
    return R.choice(ctx), "ctx"


def ipv4():
    return R.choice(["%d.%d.%d.%d" % (R.randint(1, 223), R.randint(0, 255), R.randint(0, 255),
                                      R.randint(1, 254))])


def ipv6():
    g = ["%x" % R.randint(0, 0xffff) for _ in range(8)]
    forms = [":".join(g), "2001:db8::" + g[6] + ":" + g[7], "fe80::" + ":".join(g[4:]),
             g[0] + ":" + g[1] + ":" + g[2] + "::" + g[7]]
    return R.choice(forms)


def mac():
    b = ["%02x" % R.randint(0, 255) for _ in range(6)]
    b[0] = "%02x" % (R.randint(1, 255) & 0xfe)
    return R.choice([":".join(b), "-".join(b).upper()])


# ------------------------------------------------------------------------- positives
def positives():
    for _ in range(110):
        e = email()
        n = R.choice(FIRST) + " " + R.choice(LAST)
        t = R.choice([e, f"Thanks {n} ({e})", f"Signed in as {e}", f"mailto:{e}",
                      f'{{"email":"{e}","plan":"pro"}}', f"Contact: {e}", f"[info] invite sent to {e}",
                      f"{n} <{e}>", f"https://crm.example.com/customers?q={e}&page=2"])
        key = R.choice(["", "textContent", "value", "text", "$el_text", "message"])
        labels = ["email"]
        if "?q=" in t:
            labels = ["email"]
        add("pii", labels, t, key)
    for _ in range(100):
        p, n = R.choice(ISSUERS)
        c = card(p, n)
        form = R.randrange(4)
        v = c if form == 0 else group_card(c, R.choice([" ", "-"]))
        t = R.choice([v, f"Card {v} exp {R.randint(1,12):02d}/{R.randint(25,31)}", f"paid with {v}",
                      f'{{"card_no":"{v}"}}'.replace("card_no", "pan"), f"payment_method: {v} (default)"])
        add("pii", ["card"], t, R.choice(["", "value", "text"]))
    for _ in range(80):
        cc = R.choice(["DE", "FR", "ES", "BE", "AT", "CH", "PL", "SE", "NO", "DK", "FI", "PT",
                       "IT", "NL", "GB", "IE", "LU", "CZ", "HU", "RO"])
        v = iban(cc)
        v = v if R.random() < 0.5 else group4(v)
        t = R.choice([v, f"IBAN: {v}", f"Überweisung an {v}", f"Bankverbindung {v} BIC COBADEFFXXX",
                      f'{{"account":"{v}"}}', f"Virement vers {v} effectué"])
        add("pii", ["iban"], t, R.choice(["", "value", "textContent"]))
    for _ in range(70):
        s = ssn()
        form = R.randrange(5)
        if form < 3:
            v = f"{s[:3]}-{s[3:5]}-{s[5:]}"
            t = R.choice([v, f"SSN: {v}", f"applicant ssn {v} verified", f'{{"applicant":"{v}"}}'])
            add("pii", ["ssn"], t, R.choice(["", "value"]))
        elif form == 3:
            v = f"{s[:3]} {s[3:5]} {s[5:]}"
            add("pii", ["ssn"], R.choice([v, f"Social Security Number {v}"]), "")
        else:
            add("pii", ["ssn"], f"SSN {s}", R.choice(["", "text"]))
    for _ in range(130):
        v, ctx = phone()
        if ctx:
            add("pii", ["phone"], v, "")
        else:
            n = R.choice(FIRST)
            t = R.choice([v, f"Call {n} at {v}", f"phone: {v}", f'{{"phone":"{v}"}}',
                          f"{n} {R.choice(LAST)} · {v}", f"WhatsApp {v}", f"tel:{v.replace(' ', '')}"])
            add("pii", ["phone"], t, R.choice(["", "value", "text"]))
    for _ in range(40):
        v = ipv4()
        t = R.choice([v, f"client ip {v} blocked", f"X-Forwarded-For: {v}", f"GET /admin from {v}:8080",
                      f'{{"ip":"{v}"}}'])
        add("pii", ["ipv4"], t, R.choice(["", "ip", "remote_addr"]))
    for _ in range(30):
        v = ipv6()
        t = R.choice([v, f"client [{v}]:443", f"from {v} ok", f"ip={v}"])
        add("pii", ["ipv6"], t, "")
    for _ in range(25):
        v = mac()
        add("pii", ["mac"], R.choice([v, f"device mac={v};", f"hw {v} up"]), "")
    for _ in range(45):
        v = jwt()
        t = R.choice([v, f"Authorization: Bearer {v}", f'{{"id_token":"{v}"}}',
                      f"set-session {v}", f"jwt={v}; Path=/"])
        add("pii", ["jwt"], t, R.choice(["", "message"]))
    for _ in range(25):
        v = rnd(R.randint(24, 40)) + R.choice(["", "=="])
        while not (any(c.isdigit() for c in v) and any(c.isalpha() for c in v)):
            v = rnd(32)
        add("pii", ["bearer"], R.choice([f"Authorization: Bearer {v}", f"bearer {v}",
                                         f'fetch failed (401) Bearer {v}']), "")
    for _ in range(25):
        v = R.choice(["AKIA", "ASIA"]) + rnd(16, string.ascii_uppercase + string.digits)
        add("pii", ["aws_key"], R.choice([v, f"aws_access_key_id={v}", f'{{"AccessKeyId":"{v}"}}',
                                          f"using key {v} for upload"]), "")
    for _ in range(25):
        v = "gh" + R.choice("pousr") + "_" + rnd(36)
        add("pii", ["github_token"], R.choice([v, f"GITHUB_TOKEN={v}", f"token {v} revoked"]), "")
    for _ in range(25):
        v = R.choice(["sk_live_", "rk_live_", "sk_test_"]) + rnd(R.randint(24, 99))
        add("pii", ["stripe_key"], R.choice([v, f"STRIPE_KEY={v}", f"Stripe({v})"]), "")
    for _ in range(25):
        v = "AIza" + rnd(35, string.ascii_letters + string.digits + "-_")
        add("pii", ["google_api_key"], R.choice([v, f"firebase config apiKey: {v}",
                                                 f'{{"apiKey":"{v}"}}']), "")
    for _ in range(25):
        v = "xox" + R.choice("bpa") + "-" + digits(12) + "-" + digits(13) + "-" + rnd(24)
        add("pii", ["slack_token"], R.choice([v, f"SLACK_BOT_TOKEN={v}", f"slack token {v}"]), "")
    for _ in range(30):
        u, p = R.choice(["admin", "app", "crm", "jane", "deploy"]), rnd(R.randint(6, 14))
        host = R.choice(["db.internal:5432/crm", "example.com/", "cache:6379", "10.0.0.5/x"])
        scheme = R.choice(["https", "postgres", "redis", "mysql", "ftp"])
        labels = ["url_credentials"]  # an IP host of a URL is a server address, not PII
        add("pii", labels, R.choice([f"{scheme}://{u}:{p}@{host}",
                                                  f'connect("{scheme}://{u}:{p}@{host}") failed']), "")
    for _ in range(40):
        name = R.choice(["token", "access_token", "api_key", "password", "session", "code",
                         "sid", "signature", "key", "otp"])
        val = rnd(R.randint(8, 32)) if name != "otp" else digits(6)
        add("pii", ["url_query_secret"],
            R.choice([f"https://app.example.com/reset?{name}={val}",
                      f"https://crm.example.com/cb?state=xyz&{name}={val}",
                      f"/api/v1/export?{name}={val}&format=csv",
                      f"https://app.example.com/#{name}={val}"]), R.choice(["", "$current_url", "href"]))
    for _ in range(20):
        body = "\n".join(rnd(64, string.ascii_letters + string.digits + "+/") for _ in range(R.randint(1, 4)))
        kind = R.choice(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "])
        add("pii", ["pem_key"], f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----", "")
    for _ in range(25):
        v = nino()
        v = v if R.random() < 0.5 else f"{v[:2]} {v[2:4]} {v[4:6]} {v[6:8]} {v[8]}"
        add("pii", ["uk_nino"], R.choice([v, f"NI number: {v}", f"National Insurance {v}"]), "")
    for _ in range(25):
        v = de_tax()
        g = f"{v[:2]} {v[2:5]} {v[5:8]} {v[8:]}"
        add("pii", ["de_tax_id"], R.choice([f"Steuer-ID: {v}", g, f"Steuerliche IdNr. {g}",
                                            f"Identifikationsnummer {v}"]), "")
    # Several PII kinds in one replay text node.
    for _ in range(30):
        e = email()
        v, ctx = phone()
        while ctx:
            v, ctx = phone()
        add("pii", ["email", "phone"], f"{R.choice(FIRST)} {R.choice(LAST)} — {e} — {v}", "textContent")


# ------------------------------------------------------------------------- hard negatives
def negatives():
    for _ in range(90):
        ts = str(R.randint(1600000000000, 1799999999999))
        add("timestamp13", [], R.choice([ts, f"ts={ts}", f'{{"timestamp":{ts}}}', f"/e/?ip=1&_={ts}&ver=1.449.2",
                                        f"{ts}-{rnd(6)}", f"session {ts} {ts[:-1]}{R.randint(0,9)}"]),
            R.choice(["", "$sesid", "timestamp", "_"]))
    for _ in range(50):
        ts = "20%02d%02d%02d%02d%02d%02d" % (R.randint(15, 30), R.randint(1, 12), R.randint(1, 28),
                                           R.randint(0, 23), R.randint(0, 59), R.randint(0, 59))
        add("timestamp14", [], R.choice([ts, f"backup-{ts}.tar.gz", f"build {ts}"]), "")
    for _ in range(90):
        u = str(uuid.UUID(int=R.getrandbits(128), version=4))
        if R.random() < 0.4:
            u = "01" + u[2:]  # uuidv7-ish prefix as posthog uses
        add("uuid", [], R.choice([u, f"session_id={u}", f"/api/person/{u}/", u.upper(), u.replace("-", "")]),
            R.choice(["", "$session_id", "$device_id", "distinct_id", "$window_id"]))
    for _ in range(80):
        h = rnd(R.choice([8, 12, 16, 24, 32, 40, 64]), "0123456789abcdef")
        add("hexid", [], R.choice([h, f"commit {h}", f"#{h[:6]}", f"etag W/\"{h}\"", f"node-{h}",
                                   f"sha256:{h}"]), "")
    for _ in range(80):
        add("order", [], R.choice([f"ORD-{R.randint(2019,2026)}-{digits(6)}", f"#{digits(9)}",
                                   f"Order {digits(12)}", f"INV{digits(10)}", f"SKU {digits(3)}-{digits(4)}",
                                   f"Tracking 1Z{rnd(16, string.ascii_uppercase + string.digits)}",
                                   f"Case {digits(8)}", f"customer #{digits(7)}", f"id={digits(11)}",
                                   f"PO {digits(4)}-{digits(4)}-{digits(4)}"]), "")
    for _ in range(80):
        v = f"{R.randint(1,20)}.{R.randint(0,20)}.{R.randint(0,300)}.{R.randint(0,300)}"
        add("version", [], R.choice([f"{R.randint(1,3)}.{R.randint(0,500)}.{R.randint(0,20)}",
                                     f"v{R.randint(1,9)}.{R.randint(0,30)}.{R.randint(0,30)}-alpha.{R.randint(1,30)}",
                                     f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/{R.randint(100,160)}.0.0.0 Safari/537.36",
                                     f"Chrome/{R.randint(100,160)}.0.{R.randint(1000,7000)}.{R.randint(10,200)}",
                                     f"version {v}", f"build {v}", v]),
            "$lib_version" if R.random() < 0.3 else ("version" if R.random() < 0.5 else "app_version"))
    for _ in range(60):
        lat, lon = R.uniform(-80, 80), R.uniform(-170, 170)
        add("coord", [], R.choice([f"{lat:.6f},{lon:.6f}", f"translate({lat:.2f}px, {lon:.2f}px)",
                                   f"M{lat:.3f} {lon:.3f} L{lon:.3f} {lat:.3f}", f"@{lat:.7f},{lon:.7f},15z",
                                   f"+{abs(lat):.4f}-{abs(lon):.4f}/"]), "")
    css = ["a::before{content:'';}", "li::marker { color: red }", ".btn:hover{background:rgba(0,0,0,.5)}",
           "@media (max-width: 600px){.x{display:none}}", "transform: translate3d(12px, 340px, 0) scale(1.05)",
           "font: 12px/1.5 -apple-system, 'Segoe UI'", "grid-template-columns: repeat(12, 1fr)",
           "background: url(icon@2x.png) no-repeat", "color:#1a2b3c;border-color:#ffffff",
           "@font-face{font-family:X;src:url(font.woff2)}", "width: calc(100% - 415px)",
           "transition: all 0.3s cubic-bezier(0.25, 0.1, 0.25, 1.0)", "z-index: 2147483647",
           ".c-1795352492409 { margin: 0 }", "::selection{background:#b3d4fc}",
           "input::placeholder{color:#999}", "td,th{border:1px solid #ccc;padding:2px 6px}"]
    for _ in range(70):
        add("css", [], R.choice(css) + (" " + R.choice(css) if R.random() < 0.5 else ""), "")
    for _ in range(40):
        data = base64.b64encode(bytes(R.getrandbits(8) for _ in range(R.randint(150, 1500)))).decode()
        add("base64", [], f"data:image/{R.choice(['png','jpeg','webp'])};base64,{data}", R.choice(["src", "href", ""]))
    for _ in range(60):
        add("date", [], R.choice([f"20{R.randint(15,30)}-{R.randint(1,12):02d}-{R.randint(1,28):02d}",
                                  f"20{R.randint(15,30)}-{R.randint(1,12):02d}-{R.randint(1,28):02d}T{R.randint(0,23):02d}:{R.randint(0,59):02d}:00+01:00",
                                  f"{R.randint(1,12):02d}/{R.randint(1,28):02d}/20{R.randint(15,30)}",
                                  f"{R.randint(1,28):02d}.{R.randint(1,12):02d}.20{R.randint(15,30)} {R.randint(0,23):02d}:{R.randint(0,59):02d}",
                                  f"{R.randint(0,23):02d}:{R.randint(0,59):02d}:{R.randint(0,59):02d}",
                                  f"Call scheduled {R.randint(1,28):02d}.{R.randint(1,12):02d}.20{R.randint(20,30)} {R.randint(8,18)}:00",
                                  f"duration {R.randint(1,59)}:{R.randint(0,59):02d}"]), "")
    misc = ["java.lang.Object@4b1c1ea0", "icon@2x.png", "@posthog/rrweb@2.0.0-alpha.17", "lodash@4.17.21",
            "+5 more", "Score 3-2", "Total: $1,234.56", "12,345,678 visitors", "ZIP 94103-1234",
            "+1 more reply", "page 2 of 10", "1 + 1 = 2", "Room 415-B", "Bearer token required",
            "user@localhost", "ghp_", "AKIA", "sk_live_", "-----BEGIN PUBLIC KEY-----", "x: 10, y: 20",
            "Hello world", "Customer since 2019", "Qty 1234567", "rgba(255,255,255,0.8)", "ip=1",
            "/e/?ip=1&_=1795352492409&ver=1.449.2", "?page=2&sort=desc", "https://example.com/?token=",
            "EUR 1.234,56", "phase 2/3", "ISBN 978-3-16-148410-0", "ref 2024/0001234"]
    for _ in range(90):
        add("misc", [], R.choice(misc), R.choice(["", "text", "$el_text"]))


# ------------------------------------------------ canonical forms (rules/README.md "Canonical view")
# Their own generator, so the rows above stay what they were.
C = random.Random(20261201)
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2063", "\u034f"]


def c_email():
    f, l = C.choice(FIRST).lower(), C.choice(LAST).lower()
    l = l.replace("ü", "ue").replace("í", "i").replace("'", "")
    return C.choice([f"{f}.{l}", f"{f}{C.randint(1, 99)}", f"{f[0]}{l}"]) + "@" + C.choice(DOMAINS)


def pct(s, every=False):
    """Percent-encodes '@' and '+' (every=True: every byte but letters, digits and -._~)."""
    return urllib.parse.quote(s, safe="") if every else s.replace("@", "%40").replace("+", "%2B")


def fullwidth(s, share):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and C.random() < share else c for c in s)


def canonical_positives():
    for _ in range(70):
        e = c_email()
        p = pct(e) if C.random() < 0.8 else pct(e, every=True)
        t = C.choice([f"https://crm.example.com/search?q={p}&page=2",
                      f"https://app.example.com/users/{p}/edit", f"/api/v1/people/{p}",
                      f"https://app.example.com/#/invite/{p}", f"https://app.example.com/#{p}",
                      f"mailto:{p}?subject=Hello", f"mailto:{p}", p,
                      f"https://x.example/cb?next=" + pct("https://y.example/?u=" + pct(e), every=True),
                      f"https://shop.example/?ref=nl&utm_content={p}&utm_source=mail"])
        add("canon_pct", ["email"], t, C.choice(["href", "$current_url", "", "src", "$referrer"]))
    for _ in range(50):
        e = c_email()
        local, dom = e.split("@")
        at = C.choice(["&#64;", "&#x40;", "&#X40;", "&commat;", "&#064;"])
        dot = C.choice([".", ".", "&period;", "&#46;", "&#x2E;"])
        v = local + at + dom.replace(".", dot)
        t = C.choice([f"mailto:{v}", v, f"Contact {v} today", f"/?a=1&amp;u={pct(e)}&amp;b=2",
                      f'<a href="mailto:{v}">write</a>'])
        add("canon_entity", ["email"], t, C.choice(["href", "title", "", "alt", "data-email"]))
    for _ in range(60):
        e = c_email()
        local, dom = e.split("@")
        form = C.randrange(5)
        if form == 0:
            v = local + "\uff20" + dom
        elif form == 1:
            v = local + "@" + dom.replace(".", "\uff0e")
        elif form == 2:
            v = fullwidth(e, 0.6)
        elif form == 3:
            v = local + "\ufe6b" + dom  # small commercial at
        else:
            bold = "".join(chr(0x1D41A + ord(c) - 97) if "a" <= c <= "z" else c for c in local)
            v = bold + "@" + dom
        add("canon_nfkc", ["email"], C.choice([v, f"Signed in as {v}", f"Thanks ({v})"]),
            C.choice(["", "textContent", "value"]))
    for _ in range(20):
        c = card(*C.choice([("4", 16), ("51", 16), ("37", 15)]))
        add("canon_nfkc", ["card"], C.choice([fullwidth(c, 1.0), "Card " + fullwidth(c, 1.0)]), "")
    for _ in range(70):
        e = c_email()
        z = C.choice(ZERO_WIDTH)
        i = C.randrange(1, len(e) - 1)
        v = e[:i] + z + e[i:] if C.random() < 0.6 else z.join(e)
        add("canon_invisible", ["email"], C.choice([v, f"Contact: {v}", f"[info] invite sent to {v}"]),
            C.choice(["", "textContent", "value"]))
    idn_domains = ["tëst.org", "例え.jp", "münchen.de", "пример.рф", "bücher.example",
                   "xn--tst-jma.org", "café.fr", "δοκιμή.gr", "例子.中国"]
    idn_locals = ["jane", "jürgen.müller", "иван", "θεός", "用户", "françois", "marie"]
    for _ in range(60):
        v = C.choice(idn_locals) + "@" + C.choice(idn_domains)
        add("canon_idn", ["email"], C.choice([v, f"write to {v} please", f"mailto:{v}", f"<{v}>"]),
            C.choice(["", "textContent", "href"]))
    for _ in range(30):
        v = ipv4()
        t = C.choice([f"https://a.example/track?ip={v}&x=1", f"X-Forwarded-For: {v}, 10.1.2.{C.randint(1, 254)}",
                      f"ip: {v}", f"https://a.example/?client=" + pct(f"ip={v}", every=True)])
        add("canon_ip", ["ipv4"], t, C.choice(["", "$ip", "header"]))


def canonical_negatives():
    neg = ["width: calc(100% - 415px); height: 50%", "progress 100%25 done", "10% off, 20%-30% more",
           "https://example.com/?a=1&amp;b=2&amp;sort=desc", "Tom &amp; Jerry &lt;3 &copy; 2024",
           "/search?q=caf%C3%A9&lang=fr", "https://example.com/path%20with%20spaces/file.pdf",
           "👨\u200d👩\u200d👧 family", "🏳️\u200d🌈 pride", "👍🏽 ok", "Straße München Köln",
           "東京都渋谷区", "Привет, мир", "icon\uff202x.png", "ｈｅｌｌｏ　ｗｏｒｌｄ", "ﬁnal ﬂow",
           "lodash\uff204.17.21", "@media (max-width: 600px){.x{content:'\u200b'}}",
           "soft\u00adhyphen\u00adated text", "&#8203;&nbsp;&ensp;", "M\u00fcller@localhost",
           "rrweb\uff202.0.0-alpha.17", "a%40b", "&#64;posthog/js", "%7B%22a%22%3A1%7D",
           "http://127.0.0.1/", "https://10.1.2.3:8080/x", "//192.168.0.1/", "ws://10.0.0.7:9000/socket",
           "http://[2001:db8::1]:8080/status", "http%3A%2F%2F10.1.2.3%2Fadmin",
           "https://cdn.example.com/img/logo%402x.png", "€ 1.234,56 – 12 × 3"]
    for _ in range(120):
        add("canon_neg", [], C.choice(neg), C.choice(["", "text", "href", "style", "_cssText"]))


# JS / JSON and CSS backslash escapes (their own generator, so the rows above stay the same).
E = random.Random(20261202)


def js_u(s, share):
    return "".join(f"\\u{ord(c):04x}" if E.random() < share else c for c in s)


def escape_positives():
    for _ in range(80):
        e = c_email()
        local, dom = e.split("@")
        form = E.randrange(8)
        if form == 0:
            v = local + "\\u0040" + dom
        elif form == 1:
            v = local + E.choice(["\\u0040", "\\u{40}", "\\x40"]) + dom.replace(".", "\\u002e")
        elif form == 2:
            v = js_u(e, 0.5)
        elif form == 3:
            v = local + "\\x40" + dom
        elif form == 4:
            v = local + "\\40 " + dom
        elif form == 5:
            v = local + "\\000040" + dom
        elif form == 6:
            v = local + "\\@" + dom
        else:
            v = local + "\\\\u0040" + dom  # escaped twice
        t = E.choice([v, f'{{"event":"console","payload":["user {v} signed in"]}}',
                      f"content: '{v}'", f'{{"email":"{v}"}}', f"[log] invite sent to {v}"])
        add("canon_escape", ["email"], t, E.choice(["", "payload", "$console_log", "content"]))


def escape_negatives():
    neg = ["C:\\users\\jane\\AppData\\Local\\Temp\\report.pdf", "C:\\Users\\Public\\Documents\\12345.docx",
           "\\\\fileserver\\share\\users\\notes.txt", "^[\\w.+-]+\\@[\\w-]+\\.[\\w.]+$",
           "/\\d{3}-\\d{2}-\\d{4}/g", ".icon-mail:before{content:\"\\f101\"}",
           ".fa-at:before{content:\"\\f1fa\"} .x{content:\"\\e900 \"}", "line one\\nline two\\tend",
           "say \\\"hi\\\" \\u00e9t\\u00e9", "\\u0040posthog/js", "icon\\40 2x.png",
           "D:\\build\\x64\\Release\\app.exe", "\\x1b[31mred\\x1b[0m", "a\\\\b\\\\c"]
    for _ in range(80):
        add("canon_neg", [], E.choice(neg), E.choice(["", "text", "payload", "style"]))


def atext_positives():
    """Local parts with RFC 5322 atext specials (o'brien, a!b, x{y}z)."""
    for _ in range(40):
        f, l = E.choice(FIRST).lower(), E.choice(LAST).lower()
        l = l.replace("ü", "ue").replace("í", "i").replace("'", "")
        sp = E.choice("!$&'*^`{|}~")
        v = E.choice([f"{f}{sp}{l}", f"{f[0]}{sp}{l}.{f}", f"canary.zq{sp}o"]) + "@" + E.choice(DOMAINS)
        t = E.choice([v, f'{{"t":"{v}"}}', f"Contact {v} today", f"mailto:{v}", f"<{v}>"])
        add("pii_atext", ["email"], t, E.choice(["", "t", "text", "$el_text"]))


def key_rows():
    """Short and banking sensitive key names (whole words) and the look-alikes that are not."""
    keys = ["pwd", "pass", "pin", "otp", "passcode", "mfa_code", "security_code", "account_number",
            "routing_number", "sort_code", "cvv2", "cvc", "userPin", "otpCode", "accountNumber"]
    for _ in range(30):
        add("pii_key", ["key"], E.choice(["1234", "493817", "hunter2", "12-34-56", "021000021"]),
            E.choice(keys))
    for _ in range(30):
        add("key_neg", [], E.choice(["standard", "express", "window seat", "north", "loading"]),
            E.choice(["shipping", "spinner", "passenger", "compass", "pinned", "opinion", "bypass",
                      "sortOrder", "account_id", "pinterest_tag"]))


positives()
negatives()
canonical_positives()
canonical_negatives()
escape_positives()
escape_negatives()
atext_positives()
key_rows()
R.shuffle(rows)


def esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


with open(__file__.rsplit("/", 1)[0] + "/pii_eval.tsv", "w", encoding="utf-8") as f:
    f.write("# category\tlabels\tkey\ttext  (generated by gen_eval.py; labels empty = hard negative)\n")
    for cat, labels, key, text in rows:
        f.write("\t".join([cat, labels, esc(key), esc(text)]) + "\n")
print(len(rows), "rows;", sum(1 for r in rows if r[1]), "with PII")

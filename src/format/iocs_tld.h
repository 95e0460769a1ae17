/*
 * Top-level domains a bare "name.tld" must end in to count as a domain (iocs.c). Data, not
 * code: every two-letter country-code TLD in the ICANN section of the Public Suffix List
 * (Debian package publicsuffix), the original and sponsored generic TLDs, the new gTLDs seen in
 * threat reports and spam statistics, and "onion" (RFC 7686, Tor services). The ~1,100 other
 * new gTLDs are left out on purpose: most are English words (".data", ".map", ".run") that
 * collide with identifiers and file names far more often than they appear in indicators.
 * Sorted bytewise for bsearch; lowercase.
 */
#ifndef STRAIN_FORMAT_IOCS_TLD_H
#define STRAIN_FORMAT_IOCS_TLD_H

static const char *const strain_iocs__tlds[] = {
    "ac", "ad", "ae", "aero", "af", "ag", "agency", "ai", "al", "am", "ao", "app", "aq", "ar",
    "arpa", "as", "asia", "at", "au", "autos", "aw", "ax", "az", "ba", "bank", "bar", "bb",
    "be", "beauty", "best", "bf", "bg", "bh", "bi", "bid", "biz", "bj", "black", "blog",
    "blue", "bm", "bn", "bo", "boats", "bond", "br", "bs", "bt", "buzz", "bv", "bw", "by",
    "bz", "ca", "cam", "capital", "casa", "cat", "cc", "cd", "center", "cf", "cfd", "cg", "ch",
    "ci", "cl", "click", "cloud", "club", "cm", "cn", "co", "com", "company", "coop",
    "country", "cr", "cu", "cv", "cw", "cx", "cy", "cyou", "cz", "date", "de", "dev",
    "digital", "dj", "dk", "dm", "do", "download", "dz", "ec", "edu", "ee", "eg", "email",
    "es", "et", "eu", "faith", "fi", "finance", "fj", "fm", "fo", "fr", "fun", "fyi", "ga",
    "gb", "gd", "gdn", "ge", "gf", "gg", "gh", "gi", "gl", "global", "gm", "gn", "gov", "gp",
    "gq", "gr", "group", "gs", "gt", "gu", "guru", "gw", "gy", "hair", "hk", "hm", "hn",
    "homes", "host", "hr", "ht", "hu", "icu", "id", "ie", "il", "im", "in", "info", "ink",
    "int", "io", "iq", "ir", "is", "it", "je", "jo", "jobs", "jp", "ke", "kg", "ki", "kim",
    "km", "kn", "kp", "kr", "kw", "ky", "kz", "la", "lat", "lb", "lc", "li", "life", "link",
    "live", "lk", "loan", "lol", "lr", "ls", "lt", "ltd", "lu", "lv", "ly", "ma", "makeup",
    "mc", "md", "me", "media", "men", "mg", "mh", "mil", "mk", "ml", "mn", "mo", "mobi", "mom",
    "money", "monster", "moscow", "mov", "mp", "mq", "mr", "ms", "mt", "mu", "museum", "mv",
    "mw", "mx", "my", "mz", "na", "name", "nc", "ne", "net", "network", "news", "nf", "ng",
    "ni", "ninja", "nl", "no", "nr", "nu", "nz", "om", "onion", "online", "ooo", "org", "pa",
    "page", "party", "pe", "pf", "ph", "photo", "photos", "pics", "pink", "pk", "pl", "pm",
    "pn", "post", "pr", "press", "pro", "ps", "pt", "pw", "py", "qa", "quest", "racing", "re",
    "red", "rest", "review", "ro", "rocks", "rs", "ru", "rw", "sa", "sb", "sbs", "sc",
    "science", "sd", "se", "services", "sg", "sh", "shop", "si", "site", "sj", "sk", "skin",
    "sl", "sm", "sn", "so", "social", "solutions", "space", "sr", "ss", "st", "store",
    "stream", "su", "support", "surf", "sv", "sx", "sy", "systems", "sz", "tc", "td", "team",
    "tech", "tel", "tf", "tg", "th", "tj", "tk", "tl", "tm", "tn", "to", "today", "tokyo",
    "tools", "top", "tr", "trade", "travel", "tt", "tv", "tw", "tz", "ua", "ug", "uk", "uno",
    "us", "uy", "uz", "va", "vc", "ve", "vg", "vi", "vip", "vn", "vu", "wang", "website", "wf",
    "win", "work", "world", "ws", "xin", "xxx", "xyz", "ye", "yt", "zip", "zm", "zone", "zw",
};

#endif

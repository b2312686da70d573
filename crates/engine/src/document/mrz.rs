//! The machine-readable zone of ICAO 9303 travel documents as text: which format the lines are
//! (TD1 3×30, TD2 2×36, TD3 2×44; visas MRV-B 2×36 and MRV-A 2×44), where each field sits, the
//! 7-3-1 check digits, and the repair of OCR confusions that the field's character class or its
//! check digit settles. Pure text in, fields out: no pixels here.

use std::collections::BTreeMap;

use serde::Serialize;

/// The MRZ alphabet, in the recogniser's symbol order (index 0 of its output is the CTC blank).
pub const ALPHABET: &[u8; 37] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<";

/// The size of an MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MrzFormat {
    /// ID cards: 3 lines of 30.
    #[serde(rename = "TD1")]
    Td1,
    /// 2 lines of 36 (ID cards of size 2, visas MRV-B).
    #[serde(rename = "TD2")]
    Td2,
    /// Passports: 2 lines of 44 (and visas MRV-A).
    #[serde(rename = "TD3")]
    Td3,
}

impl MrzFormat {
    pub fn lines(self) -> usize {
        match self {
            MrzFormat::Td1 => 3,
            _ => 2,
        }
    }

    pub fn width(self) -> usize {
        match self {
            MrzFormat::Td1 => 30,
            MrzFormat::Td2 => 36,
            MrzFormat::Td3 => 44,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MrzFormat::Td1 => "TD1",
            MrzFormat::Td2 => "TD2",
            MrzFormat::Td3 => "TD3",
        }
    }
}

/// ICAO 9303 part 3 §4.9: weights 7, 3, 1 repeating; digits count as themselves, A–Z as 10–35,
/// the filler `<` as 0; the sum modulo 10. `None` for a character outside the MRZ alphabet.
pub fn check_digit(s: &str) -> Option<u8> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, c) in s.bytes().enumerate() {
        let v = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'Z' => (c - b'A') as u32 + 10,
            b'<' => 0,
            _ => return None,
        };
        sum += v * WEIGHTS[i % 3];
    }
    Some((sum % 10) as u8)
}

/// What a position may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// 0–9 (dates, check digits).
    Digit,
    /// A–Z or the filler (names, states, codes, sex).
    Alpha,
    /// Any MRZ character (document numbers, optional data).
    Any,
}

/// A character read where `class` says it cannot be: the usual OCR-B confusions, and only those.
fn coerce(c: u8, class: Class) -> u8 {
    match class {
        Class::Digit => match c {
            b'O' | b'Q' | b'D' | b'U' => b'0',
            b'I' | b'L' | b'J' | b'T' => b'1',
            b'Z' => b'2',
            b'A' => b'4',
            b'S' => b'5',
            b'G' => b'6',
            b'B' => b'8',
            // A filler read where a digit must stand: an empty check digit of an absent
            // optional field is written `<` and counts as 0, so leave it.
            other => other,
        },
        Class::Alpha => match c {
            b'0' => b'O',
            b'1' => b'I',
            b'2' => b'Z',
            b'4' => b'A',
            b'5' => b'S',
            b'6' => b'G',
            b'8' => b'B',
            other => other,
        },
        Class::Any => c,
    }
}

/// The other reading of an ambiguous character (for check-digit repair of alphanumeric fields).
fn twin(c: u8) -> Option<u8> {
    Some(match c {
        b'0' => b'O',
        b'O' => b'0',
        b'1' => b'I',
        b'I' => b'1',
        b'2' => b'Z',
        b'Z' => b'2',
        b'5' => b'S',
        b'S' => b'5',
        b'8' => b'B',
        b'B' => b'8',
        b'6' => b'G',
        b'G' => b'6',
        b'D' => b'0',
        b'Q' => b'0',
        b'<' => b'K',
        b'K' => b'<',
        _ => return None,
    })
}

/// One character as read: the symbol, its probability, and the recogniser's runner-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadChar {
    pub symbol: u8,
    pub confidence: f32,
    pub alternative: Option<(u8, f32)>,
}

impl ReadChar {
    /// A character read with full confidence (for text given as such, e.g. tests).
    pub fn certain(symbol: u8) -> ReadChar {
        ReadChar {
            symbol,
            confidence: 1.0,
            alternative: None,
        }
    }
}

/// A field of the MRZ.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Field {
    /// The value with fillers turned into spaces and trimmed (names: `SURNAME`, `GIVEN NAMES`),
    /// dates as `YYYY-MM-DD` when they parse.
    pub value: String,
    /// The characters as they stand in the MRZ.
    pub raw: String,
    /// The least confident character of the field (0..1, the recogniser's probability).
    pub confidence: f32,
    /// Whether the field's own check digit holds (fields without one: absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_digit_valid: Option<bool>,
}

/// One check digit and what it covers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    /// `document_number`, `birth_date`, `expiry_date`, `optional_data`, `composite`.
    pub name: &'static str,
    pub valid: bool,
    /// Whether a character was changed to make it hold (an ambiguous character the recogniser
    /// was unsure of, replaced by its runner-up or its look-alike).
    pub repaired: bool,
    /// Which rule repaired it: `unsure_character` (a character read with little confidence
    /// replaced by its runner-up or look-alike) or `single_lookalike` (the only look-alike
    /// substitution in an alphanumeric field that makes its check hold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair: Option<&'static str>,
}

/// A parsed MRZ.
#[derive(Debug, Clone, Serialize)]
pub struct Mrz {
    #[serde(rename = "type")]
    pub format: MrzFormat,
    /// The lines after repair.
    pub lines: Vec<String>,
    pub check_digits_valid: bool,
    pub checks: Vec<Check>,
    pub fields: BTreeMap<&'static str, Field>,
    /// The least confident character of the whole zone.
    pub confidence: f32,
    /// The fields look like a document's: a known document code, a sex, dates that are dates.
    #[serde(skip)]
    pub plausible: bool,
}

impl Mrz {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|f| f.value.as_str())
    }

    /// The expiry date as (year, month, day), when it parses.
    pub fn expiry(&self) -> Option<(i32, u32, u32)> {
        parse_iso(self.field("expiry_date")?)
    }

    /// Whether the document has expired on `today` (year, month, day); `None` when the expiry
    /// date does not parse.
    pub fn expired_on(&self, today: (i32, u32, u32)) -> Option<bool> {
        self.expiry().map(|e| e < today)
    }
}

fn parse_iso(s: &str) -> Option<(i32, u32, u32)> {
    let mut it = s.split('-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    Some((y, m, d))
}

/// The format fitting `count` lines whose mean length is `mean_len` (as first read, before the
/// lines are re-read at exactly the format's width).
pub fn format_for(count: usize, mean_len: f32) -> Option<MrzFormat> {
    match count {
        3 => Some(MrzFormat::Td1),
        2 if mean_len < 40.0 => Some(MrzFormat::Td2),
        2 => Some(MrzFormat::Td3),
        _ => None,
    }
}

/// A span of one line: (line, start, end exclusive).
type Span = (usize, usize, usize);

struct Layout {
    /// (field name, span, class)
    fields: Vec<(&'static str, Span, Class)>,
    /// (check name, field covered, check digit position); a field name or spans for the composite.
    checks: Vec<(&'static str, Vec<Span>, (usize, usize))>,
}

fn layout(format: MrzFormat, visa: bool) -> Layout {
    use Class::*;
    match format {
        MrzFormat::Td1 => Layout {
            fields: vec![
                ("document_code", (0, 0, 2), Alpha),
                ("issuing_state", (0, 2, 5), Alpha),
                ("document_number", (0, 5, 14), Any),
                ("optional_data_1", (0, 15, 30), Any),
                ("birth_date", (1, 0, 6), Digit),
                ("sex", (1, 7, 8), Alpha),
                ("expiry_date", (1, 8, 14), Digit),
                ("nationality", (1, 15, 18), Alpha),
                ("optional_data_2", (1, 18, 29), Any),
                ("names", (2, 0, 30), Alpha),
            ],
            checks: vec![
                ("document_number", vec![(0, 5, 14)], (0, 14)),
                ("birth_date", vec![(1, 0, 6)], (1, 6)),
                ("expiry_date", vec![(1, 8, 14)], (1, 14)),
                (
                    "composite",
                    vec![(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)],
                    (1, 29),
                ),
            ],
        },
        MrzFormat::Td2 | MrzFormat::Td3 => {
            let w = format.width();
            // TD3: personal number 28..42, its check 42, composite 43. TD2: optional 28..35,
            // composite 35. Visas: optional data to the end, no composite.
            let opt_end = match (format, visa) {
                (_, true) => w,
                (MrzFormat::Td3, false) => 42,
                _ => w - 1,
            };
            let mut fields = vec![
                ("document_code", (0, 0, 2), Alpha),
                ("issuing_state", (0, 2, 5), Alpha),
                ("names", (0, 5, w), Alpha),
                ("document_number", (1, 0, 9), Any),
                ("nationality", (1, 10, 13), Alpha),
                ("birth_date", (1, 13, 19), Digit),
                ("sex", (1, 20, 21), Alpha),
                ("expiry_date", (1, 21, 27), Digit),
                ("optional_data", (1, 28, opt_end), Any),
            ];
            fields.retain(|f| f.1 .2 > f.1 .1);
            let mut checks = vec![
                ("document_number", vec![(1, 0, 9)], (1, 9)),
                ("birth_date", vec![(1, 13, 19)], (1, 19)),
                ("expiry_date", vec![(1, 21, 27)], (1, 27)),
            ];
            if !visa {
                if format == MrzFormat::Td3 {
                    checks.push(("optional_data", vec![(1, 28, 42)], (1, 42)));
                }
                checks.push((
                    "composite",
                    vec![(1, 0, 10), (1, 13, 20), (1, 21, w - 1)],
                    (1, w - 1),
                ));
            }
            Layout { fields, checks }
        }
    }
}

/// Positions that must be digits: every check digit and date.
fn class_of(layout: &Layout, line: usize, pos: usize) -> Class {
    if layout.checks.iter().any(|(_, _, at)| *at == (line, pos)) {
        return Class::Digit;
    }
    layout
        .fields
        .iter()
        .find(|(_, (l, a, b), _)| *l == line && (*a..*b).contains(&pos))
        .map(|f| f.2)
        .unwrap_or(Class::Any)
}

fn text_of(lines: &[Vec<ReadChar>], spans: &[Span]) -> String {
    spans
        .iter()
        .flat_map(|&(l, a, b)| lines[l][a..b].iter().map(|c| c.symbol as char))
        .collect()
}

fn holds(lines: &[Vec<ReadChar>], spans: &[Span], at: (usize, usize)) -> bool {
    let digit = lines[at.0][at.1].symbol;
    // An absent optional field may carry `<` as its check digit, which counts as 0.
    let value = match digit {
        b'0'..=b'9' => digit - b'0',
        b'<' => 0,
        _ => return false,
    };
    check_digit(&text_of(lines, spans)) == Some(value)
}

/// Below this probability a character may be replaced to make a failing check digit hold; a
/// character read with more confidence stays as read (so a genuinely wrong check digit — a
/// tampered zone — is reported, not repaired away).
pub const REPAIR_BELOW: f32 = 0.9;
/// The replacement must be the recogniser's own runner-up with at least this probability, or
/// the look-alike of a character read with less than [`LOOKALIKE_BELOW`]: with ten possible
/// check values, a free choice of any character would make almost any field "hold".
pub const RUNNER_UP_AT_LEAST: f32 = 0.2;
pub const LOOKALIKE_BELOW: f32 = 0.8;

/// Try one substitution in `spans` + the check position that makes the check hold: each
/// uncertain character replaced by its runner-up or its look-alike (when its class allows);
/// the most probable such reading wins. Returns whether a repair was made.
fn repair(
    lines: &mut [Vec<ReadChar>],
    layout: &Layout,
    spans: &[Span],
    at: (usize, usize),
) -> bool {
    let mut positions: Vec<(usize, usize)> = spans
        .iter()
        .flat_map(|&(l, a, b)| (a..b).map(move |p| (l, p)))
        .collect();
    positions.push(at);
    let mut best: Option<((usize, usize), u8, f32)> = None;
    for &(l, p) in &positions {
        let c = lines[l][p];
        if c.confidence >= REPAIR_BELOW {
            continue;
        }
        let class = class_of(layout, l, p);
        let mut options = Vec::new();
        if let Some((alt, prob)) = c.alternative.filter(|a| a.1 >= RUNNER_UP_AT_LEAST) {
            options.push((alt, prob));
        }
        if let Some(t) = twin(c.symbol).filter(|_| c.confidence < LOOKALIKE_BELOW) {
            options.push((t, (1.0 - c.confidence).max(0.0)));
        }
        for (sym, prob) in options {
            let sym = coerce(sym, class);
            let allowed = match class {
                Class::Digit => sym.is_ascii_digit() || sym == b'<',
                Class::Alpha => sym.is_ascii_uppercase() || sym == b'<',
                Class::Any => true,
            };
            if !allowed || sym == c.symbol {
                continue;
            }
            lines[l][p].symbol = sym;
            let ok = holds(lines, spans, at);
            lines[l][p].symbol = c.symbol;
            if ok && best.is_none_or(|b| prob > b.2) {
                best = Some(((l, p), sym, prob));
            }
        }
    }
    match best {
        Some(((l, p), sym, prob)) => {
            lines[l][p].symbol = sym;
            lines[l][p].confidence = prob.min(lines[l][p].confidence);
            true
        }
        None => false,
    }
}

/// Characters OCR-B prints so alike that a reading cannot tell them apart where a field allows
/// both letters and digits (document numbers, optional data).
fn lookalikes(c: u8) -> &'static [u8] {
    match c {
        b'0' => b"ODQ",
        b'O' => b"0DQ",
        b'D' => b"0O",
        b'Q' => b"0O",
        b'1' => b"I",
        b'I' => b"1",
        b'2' => b"Z",
        b'Z' => b"2",
        b'5' => b"S",
        b'S' => b"5",
        b'6' => b"G",
        b'G' => b"6",
        b'8' => b"B",
        b'B' => b"8",
        _ => b"",
    }
}

/// The ICAO practice for an alphanumeric field whose check digit fails: when exactly ONE
/// look-alike substitution of one character (O/0/D/Q, I/1, Z/2, S/5, G/6, B/8) makes the check
/// hold, that is the reading — whatever the recogniser's confidence, as the class of such a
/// field cannot settle it. Two or more candidate substitutions: nothing is changed.
fn repair_lookalike(
    lines: &mut [Vec<ReadChar>],
    layout: &Layout,
    spans: &[Span],
    at: (usize, usize),
) -> bool {
    let mut found: Vec<((usize, usize), u8)> = Vec::new();
    for &(l, a, b) in spans {
        for p in a..b {
            if class_of(layout, l, p) != Class::Any {
                continue;
            }
            let c = lines[l][p].symbol;
            for &sym in lookalikes(c) {
                lines[l][p].symbol = sym;
                if holds(lines, spans, at) {
                    found.push(((l, p), sym));
                }
                lines[l][p].symbol = c;
            }
        }
    }
    match found.as_slice() {
        [((l, p), sym)] => {
            lines[*l][*p].symbol = *sym;
            true
        }
        _ => false,
    }
}

/// ICAO 9303 part 3 codes of states and organisations (ISO 3166-1 alpha-3, Germany's `D`, the
/// British and UN codes, the `X..` codes of part 3 §5, Kosovo's RKS, and the specimens'
/// Utopia).
const STATE_CODES: &str = "AFG ALA ALB DZA ASM AND AGO AIA ATA ATG ARG ARM ABW AUS AUT AZE BHS BHR BGD BRB BLR \
    BEL BLZ BEN BMU BTN BOL BES BIH BWA BVT BRA IOT BRN BGR BFA BDI CPV KHM CMR CAN CYM CAF TCD CHL \
    CHN CXR CCK COL COM COG COD COK CRI CIV HRV CUB CUW CYP CZE DNK DJI DMA DOM ECU EGY SLV GNQ ERI \
    EST SWZ ETH FLK FRO FJI FIN FRA GUF PYF ATF GAB GMB GEO DEU GHA GIB GRC GRL GRD GLP GUM GTM GGY \
    GIN GNB GUY HTI HMD VAT HND HKG HUN ISL IND IDN IRN IRQ IRL IMN ISR ITA JAM JPN JEY JOR KAZ KEN \
    KIR PRK KOR KWT KGZ LAO LVA LBN LSO LBR LBY LIE LTU LUX MAC MDG MWI MYS MDV MLI MLT MHL MTQ MRT \
    MUS MYT MEX FSM MDA MCO MNG MNE MSR MAR MOZ MMR NAM NRU NPL NLD NCL NZL NIC NER NGA NIU NFK MKD \
    MNP NOR OMN PAK PLW PSE PAN PNG PRY PER PHL PCN POL PRT PRI QAT REU ROU RUS RWA BLM SHN KNA LCA \
    MAF SPM VCT WSM SMR STP SAU SEN SRB SYC SLE SGP SXM SVK SVN SLB SOM ZAF SGS SSD ESP LKA SDN SUR \
    SJM SWE CHE SYR TWN TJK TZA THA TLS TGO TKL TON TTO TUN TUR TKM TCA TUV UGA UKR ARE GBR USA UMI \
    URY UZB VUT VEN VNM VGB VIR WLF ESH YEM ZMB ZWE D<< GBD GBN GBO GBP GBS UNO UNA UNK XBA XIM XCC \
    XCE XCO XEC XPO XES XMP XOM XDC XXA XXB XXC XXX EUE RKS ANT NTZ UTO";

fn known_state(code: &str) -> bool {
    code.len() == 3 && STATE_CODES.split_whitespace().any(|c| c == code)
}

/// A state code (issuing state, nationality) that is no ICAO code, read with one unsure
/// character whose runner-up makes it one: the runner-up is the reading. No check digit covers
/// these fields, so this is what settles e.g. C/O in `COD`. A code read with confidence stays,
/// known or not (specimens print codes of their own).
fn repair_state(lines: &mut [Vec<ReadChar>], (l, a, b): Span) -> bool {
    let code = |lines: &[Vec<ReadChar>]| -> String {
        lines[l][a..b].iter().map(|c| c.symbol as char).collect()
    };
    if known_state(&code(lines)) {
        return false;
    }
    let mut best: Option<(usize, u8, f32)> = None;
    for p in a..b {
        let c = lines[l][p];
        let Some((alt, prob)) = c.alternative else {
            continue;
        };
        if c.confidence >= REPAIR_BELOW || prob < RUNNER_UP_AT_LEAST {
            continue;
        }
        let alt = coerce(alt, Class::Alpha);
        if !(alt.is_ascii_uppercase() || alt == b'<') {
            continue;
        }
        lines[l][p].symbol = alt;
        if known_state(&code(lines)) && best.is_none_or(|x| prob > x.2) {
            best = Some((p, alt, prob));
        }
        lines[l][p].symbol = c.symbol;
    }
    match best {
        Some((p, sym, prob)) => {
            lines[l][p].symbol = sym;
            lines[l][p].confidence = prob.min(lines[l][p].confidence);
            true
        }
        None => false,
    }
}

/// Whether the fields look like a travel document's (a page of other text read at an MRZ's width
/// rarely passes): the document code's first letter fits the format, the sex is M, F, X or
/// unspecified, and both dates parse.
fn plausible(format: MrzFormat, fields: &BTreeMap<&'static str, Field>) -> bool {
    let code = fields
        .get("document_code")
        .and_then(|f| f.raw.bytes().next())
        .unwrap_or(b'?');
    let code_ok = match format {
        MrzFormat::Td1 => matches!(code, b'I' | b'A' | b'C'),
        MrzFormat::Td2 => matches!(code, b'I' | b'A' | b'C' | b'P' | b'V'),
        MrzFormat::Td3 => matches!(code, b'P' | b'V'),
    };
    let sex_ok = fields
        .get("sex")
        .is_some_and(|f| matches!(f.raw.as_str(), "M" | "F" | "X" | "<"));
    let dates_ok = ["birth_date", "expiry_date"]
        .iter()
        .all(|k| fields.get(k).is_some_and(|f| f.value.len() == 10));
    code_ok && sex_ok && dates_ok
}

fn clean(s: &str) -> String {
    s.replace('<', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `YYMMDD` as `YYYY-MM-DD`: birth dates in the century that puts them in the past, expiry dates
/// in this century unless that is over 50 years ahead. `None` when it is no date.
fn date(yymmdd: &str, expiry: bool, today: (i32, u32, u32)) -> Option<String> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: i32 = yymmdd[0..2].parse().ok()?;
    let mm: u32 = yymmdd[2..4].parse().ok()?;
    let dd: u32 = yymmdd[4..6].parse().ok()?;
    if !(1..=12).contains(&mm) || !(1..=31).contains(&dd) {
        return None;
    }
    let century = today.0 / 100 * 100;
    let mut year = century + yy;
    if expiry {
        if year > today.0 + 50 {
            year -= 100;
        }
    } else if (year, mm, dd) > today {
        year -= 100;
    }
    Some(format!("{year:04}-{mm:02}-{dd:02}"))
}

/// Parse lines already read at the format's exact width (`format.lines()` lines of
/// `format.width()` characters), repairing what the field classes and check digits settle.
/// `today` places two-digit years. `None` when the lines do not have the format's shape.
pub fn parse(format: MrzFormat, read: &[Vec<ReadChar>], today: (i32, u32, u32)) -> Option<Mrz> {
    if read.len() != format.lines() || read.iter().any(|l| l.len() != format.width()) {
        return None;
    }
    let mut lines: Vec<Vec<ReadChar>> = read.to_vec();
    // The document code's first letter says whether this is a visa (no composite check).
    let first = coerce(lines[0][0].symbol, Class::Alpha);
    let visa = first == b'V';
    let layout = layout(format, visa);
    // 1. Character classes: a digit where only letters stand, a letter where a digit must.
    for (l, line) in lines.iter_mut().enumerate() {
        for (p, c) in line.iter_mut().enumerate() {
            c.symbol = coerce(c.symbol, class_of(&layout, l, p));
        }
    }
    // A letter alone among fillers at the end of a name, read unsure with a filler as runner-up,
    // is a filler (the recogniser's usual slip in long filler runs; an initial read with
    // confidence stays).
    for (name, (l, a, b), _) in &layout.fields {
        if *name != "names" {
            continue;
        }
        for p in a + 1..b.saturating_sub(1) {
            let (prev, next) = (lines[*l][p - 1].symbol, lines[*l][p + 1].symbol);
            let c = lines[*l][p];
            let filler_next = c
                .alternative
                .is_some_and(|(s, pr)| s == b'<' && pr >= RUNNER_UP_AT_LEAST);
            if prev == b'<'
                && next == b'<'
                && c.symbol != b'<'
                && c.confidence < REPAIR_BELOW
                && filler_next
            {
                lines[*l][p].symbol = b'<';
            }
        }
    }
    for (name, span, _) in &layout.fields {
        if matches!(*name, "issuing_state" | "nationality") {
            repair_state(&mut lines, *span);
        }
    }
    // 2. Check digits, each field's first, then the composite (which covers them).
    let mut checks = Vec::new();
    for (name, spans, at) in &layout.checks {
        let mut valid = holds(&lines, spans, *at);
        let mut repaired = false;
        let mut how = None;
        if !valid {
            if repair(&mut lines, &layout, spans, *at) {
                how = Some("unsure_character");
            // The look-alike rule only for a field's own check (the composite spans too many
            // characters for a single fitting substitution to mean much).
            } else if *name != "composite" && repair_lookalike(&mut lines, &layout, spans, *at) {
                how = Some("single_lookalike");
            }
            valid = how.is_some();
            repaired = how.is_some();
        }
        checks.push(Check {
            name,
            valid,
            repaired,
            repair: how,
        });
    }
    // A long TD1 document number: `<` at the check position, the number's remaining digits and
    // its check digit at the start of the optional data (ICAO 9303-5 §4.2.4, note j).
    let mut fields = BTreeMap::new();
    let conf = |spans: &[Span], lines: &[Vec<ReadChar>]| {
        spans
            .iter()
            .flat_map(|&(l, a, b)| lines[l][a..b].iter().map(|c| c.confidence))
            .fold(1.0f32, f32::min)
    };
    let check_of = |name: &str| checks.iter().find(|c| c.name == name).map(|c| c.valid);
    for (name, span, _) in &layout.fields {
        let raw = text_of(&lines, &[*span]);
        let confidence = conf(&[*span], &lines);
        let value = match *name {
            "birth_date" => date(&raw, false, today).unwrap_or_else(|| raw.clone()),
            "expiry_date" => date(&raw, true, today).unwrap_or_else(|| raw.clone()),
            "document_code" | "issuing_state" | "nationality" | "sex" => {
                raw.trim_end_matches('<').to_string()
            }
            _ => clean(&raw),
        };
        let check_digit_valid = match *name {
            "document_number" | "birth_date" | "expiry_date" => check_of(name),
            "optional_data" if format == MrzFormat::Td3 => check_of(name),
            _ => None,
        };
        if *name == "names" {
            let (surname, given) = raw
                .split_once("<<")
                .map(|(s, g)| (s.to_string(), g.to_string()))
                .unwrap_or((raw.clone(), String::new()));
            fields.insert(
                "surname",
                Field {
                    value: clean(&surname),
                    raw: surname,
                    confidence,
                    check_digit_valid: None,
                },
            );
            fields.insert(
                "given_names",
                Field {
                    value: clean(&given),
                    raw: given,
                    confidence,
                    check_digit_valid: None,
                },
            );
            continue;
        }
        fields.insert(
            name,
            Field {
                value,
                raw,
                confidence,
                check_digit_valid,
            },
        );
    }
    if format == MrzFormat::Td1 && lines[0][14].symbol == b'<' {
        let optional = text_of(&lines, &[(0, 15, 30)]);
        let tail: String = optional.chars().take_while(|&c| c != '<').collect();
        if tail.len() >= 2 {
            let (rest, check) = tail.split_at(tail.len() - 1);
            let number = format!("{}{rest}", text_of(&lines, &[(0, 5, 14)]));
            let valid = check_digit(&number).map(|d| d.to_string()) == Some(check.to_string());
            if let Some(c) = checks.iter_mut().find(|c| c.name == "document_number") {
                c.valid = valid;
            }
            if let Some(f) = fields.get_mut("document_number") {
                f.value = number.clone();
                f.raw = number;
                f.check_digit_valid = Some(valid);
            }
        }
    }
    let out_lines: Vec<String> = lines
        .iter()
        .map(|l| l.iter().map(|c| c.symbol as char).collect())
        .collect();
    let confidence = lines
        .iter()
        .flatten()
        .map(|c| c.confidence)
        .fold(1.0f32, f32::min);
    let plausible = plausible(format, &fields);
    Some(Mrz {
        format,
        plausible,
        check_digits_valid: checks.iter().all(|c| c.valid),
        checks,
        fields,
        lines: out_lines,
        confidence,
    })
}

/// Parse lines given as text (every character certain).
pub fn parse_text(lines: &[&str], today: (i32, u32, u32)) -> Option<Mrz> {
    let format = match (lines.len(), lines.first().map(|l| l.len())) {
        (3, Some(30)) => MrzFormat::Td1,
        (2, Some(36)) => MrzFormat::Td2,
        (2, Some(44)) => MrzFormat::Td3,
        _ => return None,
    };
    let read: Vec<Vec<ReadChar>> = lines
        .iter()
        .map(|l| l.bytes().map(ReadChar::certain).collect())
        .collect();
    parse(format, &read, today)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (i32, u32, u32) = (2026, 12, 7);

    // ICAO 9303 part 4 (TD3), part 6 (TD2) and part 5 (TD1) specimens: the Utopian documents.
    const TD3: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];
    const TD2: [&str; 2] = [
        "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "D231458907UTO7408122F1204159<<<<<<<6",
    ];
    const TD1: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];

    #[test]
    fn check_digits_follow_the_7_3_1_rule() {
        assert_eq!(check_digit("L898902C3"), Some(6));
        assert_eq!(check_digit("740812"), Some(2));
        assert_eq!(check_digit("120415"), Some(9));
        assert_eq!(check_digit("ZE184226B<<<<<"), Some(1));
        assert_eq!(check_digit("<<<"), Some(0));
        assert_eq!(check_digit("abc"), None);
    }

    #[test]
    fn the_icao_specimens_parse_with_every_check_digit() {
        let td3 = parse_text(&TD3, TODAY).unwrap();
        assert_eq!(td3.format, MrzFormat::Td3);
        assert!(td3.check_digits_valid, "{:?}", td3.checks);
        assert_eq!(td3.checks.len(), 5);
        assert_eq!(td3.field("document_number"), Some("L898902C3"));
        assert_eq!(td3.field("surname"), Some("ERIKSSON"));
        assert_eq!(td3.field("given_names"), Some("ANNA MARIA"));
        assert_eq!(td3.field("birth_date"), Some("1974-08-12"));
        assert_eq!(td3.field("expiry_date"), Some("2012-04-15"));
        assert_eq!(td3.field("sex"), Some("F"));
        assert_eq!(td3.field("nationality"), Some("UTO"));
        assert_eq!(td3.field("optional_data"), Some("ZE184226B"));
        assert_eq!(td3.expired_on(TODAY), Some(true));

        let td2 = parse_text(&TD2, TODAY).unwrap();
        assert!(td2.check_digits_valid, "{:?}", td2.checks);
        assert_eq!(td2.format, MrzFormat::Td2);
        assert_eq!(td2.field("document_number"), Some("D23145890"));
        assert_eq!(td2.field("document_code"), Some("I"));

        let td1 = parse_text(&TD1, TODAY).unwrap();
        assert!(td1.check_digits_valid, "{:?}", td1.checks);
        assert_eq!(td1.field("document_number"), Some("D23145890"));
        assert_eq!(td1.field("issuing_state"), Some("UTO"));
        assert_eq!(td1.field("given_names"), Some("ANNA MARIA"));
        assert_eq!(td1.expired_on((2012, 4, 15)), Some(false));
        assert_eq!(td1.expired_on((2012, 4, 16)), Some(true));
    }

    #[test]
    fn a_changed_character_fails_its_check_and_the_composite() {
        // The birth date altered by one digit: its check and the composite fail.
        let mut l2 = TD3[1].to_string();
        l2.replace_range(13..14, "8");
        let m = parse_text(&[TD3[0], &l2], TODAY).unwrap();
        assert!(!m.check_digits_valid);
        let failed: Vec<_> = m
            .checks
            .iter()
            .filter(|c| !c.valid)
            .map(|c| c.name)
            .collect();
        assert_eq!(failed, ["birth_date", "composite"]);
        assert_eq!(m.fields["birth_date"].check_digit_valid, Some(false));
    }

    #[test]
    fn confusions_are_fixed_only_where_the_field_says_digit_or_letter() {
        // O for 0 in a date, 0 for O in the nationality: fixed by class. The document number is
        // alphanumeric: its letters stay.
        let l2 = "L898902C36UT07408I22F12O4159ZE184226B<<<<<10";
        let m = parse_text(&[TD3[0], l2], TODAY).unwrap();
        assert_eq!(m.lines[1], TD3[1]);
        assert!(m.check_digits_valid);
    }

    #[test]
    fn an_unsure_character_is_repaired_by_its_check_digit_a_sure_one_is_not() {
        let read = |l2: &str, conf: f32| -> Vec<Vec<ReadChar>> {
            vec![
                TD3[0].bytes().map(ReadChar::certain).collect(),
                l2.bytes()
                    .enumerate()
                    .map(|(i, b)| ReadChar {
                        symbol: b,
                        confidence: if i == 7 { conf } else { 1.0 },
                        alternative: (i == 7).then_some((b'C', 0.4)),
                    })
                    .collect(),
            ]
        };
        // "C" of the number read as "0" (position 7).
        let l2 = "L898902036UTO7408122F1204159ZE184226B<<<<<10";
        let m = parse(MrzFormat::Td3, &read(l2, 0.5), TODAY).unwrap();
        assert!(m.check_digits_valid, "{:?}", m.checks);
        assert_eq!(m.lines[1], TD3[1]);
        assert!(m.checks[0].repaired);
        assert_eq!(m.checks[0].repair, Some("unsure_character"));
        // Read with confidence, the unsure-character rule leaves it; only the single look-alike
        // rule (O/0/D/Q, I/1, …: one substitution, and only one, that makes the check hold) may
        // change a confident character of an alphanumeric field.
        let m = parse(MrzFormat::Td3, &read(l2, 0.99), TODAY).unwrap();
        assert_ne!(
            m.checks[0].repair,
            Some("unsure_character"),
            "{:?}",
            m.checks
        );
        if m.checks[0].repaired {
            assert_eq!(m.checks[0].repair, Some("single_lookalike"));
        }
    }

    #[test]
    fn visas_have_no_composite_and_dates_fall_in_the_right_century() {
        let v = parse_text(
            &[
                "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
            ],
            TODAY,
        )
        .unwrap();
        assert!(v.checks.iter().all(|c| c.name != "composite"));
        assert_eq!(v.field("birth_date"), Some("1940-09-07"));
        assert_eq!(v.field("expiry_date"), Some("1996-12-10"));
        assert!(v.check_digits_valid, "{:?}", v.checks);
    }

    #[test]
    fn ordinary_text_at_an_mrz_width_is_not_plausible() {
        let m = parse_text(
            &[
                "THEQUICKBROWNFOXJUMPSOVERTHELAZYDOGANDRUNSAW",
                "AWAYFROMTHEFARMERWHOISCHASINGITWITHAPITCHFOR",
            ],
            TODAY,
        )
        .unwrap();
        assert!(!m.plausible);
        assert!(!m.check_digits_valid);
        assert!(parse_text(&TD3, TODAY).unwrap().plausible);
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(parse_text(&["P<UTO", "L898"], TODAY).is_none());
        assert!(parse_text(&[TD3[0]], TODAY).is_none());
        assert_eq!(format_for(3, 30.0), Some(MrzFormat::Td1));
        assert_eq!(format_for(2, 35.0), Some(MrzFormat::Td2));
        assert_eq!(format_for(2, 43.0), Some(MrzFormat::Td3));
        assert_eq!(format_for(1, 44.0), None);
    }
}

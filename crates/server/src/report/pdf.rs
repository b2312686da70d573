//! A small flowing layout on top of `pdf-writer`: A4 pages of headings, paragraphs, key/value
//! facts, tables with wrapped cells and rows of JPEG thumbnails with captions, and a footer with
//! page numbers. Text uses the PDF's built-in Helvetica (WinAnsi encoding), so nothing is embedded
//! but the thumbnails (passed through as JPEG, `DCTDecode`): a report of a few pages is small,
//! and any PDF reader — `pdftotext` too — reads its text back.

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const BOTTOM: f32 = 56.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// One piece of the report, laid out top to bottom.
pub enum Block {
    Title(String),
    Heading(String),
    Subheading(String),
    Text(String),
    /// Small grey text.
    Note(String),
    /// Label: value lines in two columns.
    Facts(Vec<(String, String)>),
    /// Column headers, relative column widths, rows of cells.
    Table {
        headers: Vec<String>,
        widths: Vec<f32>,
        rows: Vec<Vec<String>>,
    },
    /// Thumbnails in a row (wrapping), each with caption lines.
    Images(Vec<Thumb>),
}

/// A JPEG thumbnail and the lines written under it.
pub struct Thumb {
    pub jpeg: Vec<u8>,
    pub caption: Vec<String>,
}

/// The width and height of a baseline or progressive JPEG and its colour components, read from
/// its start-of-frame marker; `None` for anything else (the thumbnail is then left out).
pub fn jpeg_info(b: &[u8]) -> Option<(u32, u32, u8)> {
    if b.len() < 4 || b[0] != 0xFF || b[1] != 0xD8 {
        return None;
    }
    let mut i = 2;
    while i + 9 < b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
            let comps = b[i + 9];
            return (w > 0 && h > 0 && matches!(comps, 1 | 3)).then_some((w, h, comps));
        }
        i += 2 + len;
    }
    None
}

/// Text as WinAnsi bytes (the built-in fonts' encoding): Latin-1 as is, typographic quotes and
/// dashes at their WinAnsi places, anything else as '?'.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7E}' => c as u8,
            '\u{A0}'..='\u{FF}' => c as u32 as u8,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201C}' => 0x93,
            '\u{201D}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2026}' => 0x85,
            '\u{2192}' => b'>',
            '\u{2265}' => b'>',
            '\u{2264}' => b'<',
            _ => b'?',
        })
        .collect()
}

/// Helvetica's advance widths (1/1000 em) of the printable ASCII characters.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// The width of `s` in points at `size` (bold runs about 6 % wider).
fn text_width(s: &str, size: f32, bold: bool) -> f32 {
    let units: u32 = s
        .chars()
        .map(|c| match c {
            ' '..='~' => HELVETICA[(c as u32 - 32) as usize] as u32,
            _ => 600,
        })
        .sum();
    units as f32 / 1000.0 * size * if bold { 1.06 } else { 1.0 }
}

/// `s` broken into lines no wider than `width` (long words are cut).
fn wrap(s: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, size, bold) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // a word wider than the column: cut it
            let mut rest = word.to_string();
            while text_width(&rest, size, bold) > width && rest.chars().count() > 1 {
                let mut cut = rest.chars().count() - 1;
                while cut > 1
                    && text_width(&rest.chars().take(cut).collect::<String>(), size, bold) > width
                {
                    cut -= 1;
                }
                lines.push(rest.chars().take(cut).collect());
                rest = rest.chars().skip(cut).collect();
            }
            line = rest;
        }
        lines.push(line);
    }
    lines
}

struct Image {
    jpeg: Vec<u8>,
    w: u32,
    h: u32,
    gray: bool,
}

/// The pages being written and the cursor.
struct Layout {
    pages: Vec<Content>,
    page_images: Vec<Vec<usize>>,
    images: Vec<Image>,
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        let mut l = Layout {
            pages: Vec::new(),
            page_images: Vec::new(),
            images: Vec::new(),
            y: 0.0,
        };
        l.new_page();
        l
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.page_images.push(Vec::new());
        self.y = PAGE_H - MARGIN;
    }

    /// Room for `h` points below the cursor, on a new page if needed.
    fn room(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a page")
    }

    fn text_at(&mut self, x: f32, y: f32, s: &str, size: f32, bold: bool, grey: bool) {
        let c = self.page();
        if grey {
            c.set_fill_gray(0.35);
        }
        c.begin_text();
        c.set_font(if bold { BOLD } else { REGULAR }, size);
        c.next_line(x, y);
        c.show(Str(&win_ansi(s)));
        c.end_text();
        if grey {
            c.set_fill_gray(0.0);
        }
    }

    fn lines(&mut self, s: &str, size: f32, bold: bool, grey: bool, x: f32, width: f32) {
        let leading = size * 1.3;
        for line in wrap(s, size, bold, width) {
            self.room(leading);
            self.y -= leading;
            let y = self.y;
            self.text_at(x, y + size * 0.25, &line, size, bold, grey);
        }
    }

    fn rule(&mut self, y: f32, gray: f32) {
        let c = self.page();
        c.set_stroke_gray(gray);
        c.set_line_width(0.5);
        c.move_to(MARGIN, y);
        c.line_to(PAGE_W - MARGIN, y);
        c.stroke();
        c.set_stroke_gray(0.0);
    }

    fn block(&mut self, b: &Block) {
        let width = PAGE_W - 2.0 * MARGIN;
        match b {
            Block::Title(s) => {
                self.lines(s, 18.0, true, false, MARGIN, width);
                self.y -= 4.0;
            }
            Block::Heading(s) => {
                self.room(48.0);
                self.y -= 10.0;
                self.lines(s, 13.0, true, false, MARGIN, width);
                let y = self.y - 3.0;
                self.rule(y, 0.6);
                self.y -= 6.0;
            }
            Block::Subheading(s) => {
                self.room(36.0);
                self.y -= 4.0;
                self.lines(s, 11.0, true, false, MARGIN, width);
            }
            Block::Text(s) => self.lines(s, 9.5, false, false, MARGIN, width),
            Block::Note(s) => self.lines(s, 8.5, false, true, MARGIN, width),
            Block::Facts(pairs) => {
                let label_w = 110.0;
                for (k, v) in pairs {
                    let lines = wrap(v, 9.5, false, width - label_w);
                    for (i, line) in lines.iter().enumerate() {
                        self.room(12.5);
                        self.y -= 12.5;
                        let y = self.y + 2.5;
                        if i == 0 {
                            self.text_at(MARGIN, y, k, 9.5, true, true);
                        }
                        self.text_at(MARGIN + label_w, y, line, 9.5, false, false);
                    }
                }
            }
            Block::Table {
                headers,
                widths,
                rows,
            } => self.table(headers, widths, rows),
            Block::Images(thumbs) => self.images(thumbs),
        }
    }

    fn table(&mut self, headers: &[String], widths: &[f32], rows: &[Vec<String>]) {
        let total: f32 = widths.iter().sum::<f32>().max(1.0);
        let width = PAGE_W - 2.0 * MARGIN;
        let cols: Vec<f32> = widths.iter().map(|w| w / total * width).collect();
        let size = 8.5;
        let leading = 11.0;
        self.y -= 3.0;
        let draw_row = |l: &mut Layout, cells: &[String], bold: bool| {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .zip(&cols)
                .map(|(c, w)| wrap(c, size, bold, w - 6.0))
                .collect();
            let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = n as f32 * leading + 4.0;
            l.room(h + if bold { 0.0 } else { 2.0 });
            let top = l.y;
            let mut x = MARGIN;
            for (lines, w) in wrapped.iter().zip(&cols) {
                for (i, line) in lines.iter().enumerate() {
                    l.text_at(
                        x + 2.0,
                        top - (i as f32 + 1.0) * leading + 2.5,
                        line,
                        size,
                        bold,
                        bold,
                    );
                }
                x += w;
            }
            l.y -= h;
            let y = l.y + 1.5;
            l.rule(y, 0.82);
        };
        draw_row(self, headers, true);
        for r in rows {
            // a page break inside a table repeats its header
            let n = r
                .iter()
                .zip(&cols)
                .map(|(c, w)| wrap(c, size, false, w - 6.0).len())
                .max()
                .unwrap_or(1);
            if self.y - (n as f32 * leading + 6.0) < BOTTOM {
                self.new_page();
                draw_row(self, headers, true);
            }
            draw_row(self, r, false);
        }
        self.y -= 4.0;
    }

    fn images(&mut self, thumbs: &[Thumb]) {
        let box_w = 118.0;
        let gap = 12.0;
        let img_h = 96.0;
        let per_row = ((PAGE_W - 2.0 * MARGIN + gap) / (box_w + gap))
            .floor()
            .max(1.0) as usize;
        for row in thumbs.chunks(per_row) {
            let caption_lines = row
                .iter()
                .map(|t| {
                    t.caption
                        .iter()
                        .map(|c| wrap(c, 7.5, false, box_w).len())
                        .sum::<usize>()
                })
                .max()
                .unwrap_or(0);
            let h = img_h + 6.0 + caption_lines as f32 * 9.5 + 8.0;
            self.room(h);
            let top = self.y;
            for (k, t) in row.iter().enumerate() {
                let x = MARGIN + k as f32 * (box_w + gap);
                if let Some((w, hgt, comps)) = jpeg_info(&t.jpeg) {
                    let scale = (box_w / w as f32).min(img_h / hgt as f32);
                    let (dw, dh) = (w as f32 * scale, hgt as f32 * scale);
                    let idx = self.images.len();
                    self.images.push(Image {
                        jpeg: t.jpeg.clone(),
                        w,
                        h: hgt,
                        gray: comps == 1,
                    });
                    self.page_images.last_mut().expect("a page").push(idx);
                    let name = format!("Im{idx}");
                    let c = self.page();
                    c.save_state();
                    c.transform([
                        dw,
                        0.0,
                        0.0,
                        dh,
                        x + (box_w - dw) / 2.0,
                        top - img_h + (img_h - dh) / 2.0,
                    ]);
                    c.x_object(Name(name.as_bytes()));
                    c.restore_state();
                } else {
                    self.text_at(x, top - img_h / 2.0, "(no thumbnail)", 8.0, false, true);
                }
                let mut y = top - img_h - 6.0;
                for (i, cap) in t.caption.iter().enumerate() {
                    for line in wrap(cap, 7.5, i == 0, box_w) {
                        y -= 9.5;
                        self.text_at(x, y + 2.0, &line, 7.5, i == 0, i > 0);
                    }
                }
            }
            self.y = top - h;
        }
    }
}

/// The PDF of `blocks`, with `title` in the document information and `footer` (then "page n of
/// N") at the bottom of every page.
pub fn render(title: &str, footer: &str, blocks: &[Block]) -> Vec<u8> {
    let mut l = Layout::new();
    for b in blocks {
        l.block(b);
    }
    let n = l.pages.len();
    for (i, page) in l.pages.iter_mut().enumerate() {
        page.set_fill_gray(0.4);
        page.begin_text();
        page.set_font(REGULAR, 7.5);
        page.next_line(MARGIN, 30.0);
        page.show(Str(&win_ansi(&format!("{footer} · page {} of {n}", i + 1))));
        page.end_text();
    }

    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog = alloc();
    let tree = alloc();
    let regular = alloc();
    let bold = alloc();
    let info = alloc();
    let image_refs: Vec<Ref> = l.images.iter().map(|_| alloc()).collect();
    let page_refs: Vec<(Ref, Ref)> = (0..n).map(|_| (alloc(), alloc())).collect();

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(p, _)| *p))
        .count(n as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("faceproof"));
    for (img, r) in l.images.iter().zip(&image_refs) {
        let mut x = pdf.image_xobject(*r, &img.jpeg);
        x.filter(Filter::DctDecode);
        x.width(img.w as i32);
        x.height(img.h as i32);
        if img.gray {
            x.color_space().device_gray();
        } else {
            x.color_space().device_rgb();
        }
        x.bits_per_component(8);
        x.finish();
    }
    for (i, ((page_ref, content_ref), content)) in page_refs.iter().zip(l.pages).enumerate() {
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(*content_ref);
        let mut res = page.resources();
        res.fonts().pair(REGULAR, regular).pair(BOLD, bold);
        let mut xo = res.x_objects();
        for idx in &l.page_images[i] {
            let name = format!("Im{idx}");
            xo.pair(Name(name.as_bytes()), image_refs[*idx]);
        }
        xo.finish();
        res.finish();
        page.finish();
        pdf.stream(*content_ref, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_within_the_width_and_cuts_long_words() {
        let lines = wrap(
            "the quick brown fox jumps over the lazy dog",
            10.0,
            false,
            80.0,
        );
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(text_width(l, 10.0, false) <= 80.0, "{l}");
        }
        let long = wrap(&"x".repeat(200), 10.0, false, 50.0);
        assert!(long.len() > 3);
        assert_eq!(long.concat(), "x".repeat(200));
    }

    #[test]
    fn text_is_win_ansi() {
        assert_eq!(
            win_ansi("a“b”–é€"),
            vec![b'a', 0x93, b'b', 0x94, 0x96, 0xE9, b'?']
        );
    }

    #[test]
    fn a_document_with_many_rows_has_several_pages() {
        let rows: Vec<Vec<String>> = (0..200)
            .map(|i| vec![format!("row {i}"), "x".into()])
            .collect();
        let pdf = render(
            "t",
            "f",
            &[
                Block::Title("Report".into()),
                Block::Table {
                    headers: vec!["a".into(), "b".into()],
                    widths: vec![1.0, 1.0],
                    rows,
                },
            ],
        );
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        let count: usize = text
            .split("/Count ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .expect("a page tree with a count");
        assert!(count >= 3, "{count} pages");
    }

    #[test]
    fn jpeg_size_from_the_frame_header() {
        assert_eq!(jpeg_info(b"not a jpeg"), None);
        // SOI, APP0 (len 4, 2 bytes), SOF0: len 17, precision 8, h 2, w 3, 3 components
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        b.extend([0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x02, 0x00, 0x03, 0x03]);
        b.extend([0u8; 12]);
        assert_eq!(jpeg_info(&b), Some((3, 2, 3)));
    }
}

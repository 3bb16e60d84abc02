//! The report: the contact sheet of model and renderer clips, and the markdown table.

use super::*;

/// One image of clips side by side: per clip a row of the renderer's frames above a row of the
/// model's, each pixel drawn as a `scale` x `scale` block.
pub fn contact_sheet(clips: &[(Vec<RgbImage>, Vec<RgbImage>)], scale: u32) -> RgbImage {
    let rows = clips.iter().flat_map(|(a, b)| [a, b]);
    let (w, h) = clips
        .first()
        .and_then(|(a, _)| a.first())
        .map_or((0, 0), |f| (f.width(), f.height()));
    let cols = rows.clone().map(Vec::len).max().unwrap_or(0) as u32;
    let scale = scale.max(1);
    let mut sheet = RgbImage::new(cols * w * scale, 2 * clips.len() as u32 * h * scale);
    for (r, row) in rows.enumerate() {
        for (c, frame) in row.iter().enumerate() {
            for (x, y, p) in frame.enumerate_pixels() {
                if x >= w || y >= h {
                    continue;
                }
                let (x0, y0) = ((c as u32 * w + x) * scale, (r as u32 * h + y) * scale);
                for dy in 0..scale {
                    for dx in 0..scale {
                        sheet.put_pixel(x0 + dx, y0 + dy, *p);
                    }
                }
            }
        }
    }
    sheet
}

/// Writes [`contact_sheet`] as a PNG, whole: into a temporary file beside `path`, renamed into
/// place only when complete.
pub fn write_contact_sheet(
    path: &std::path::Path,
    clips: &[(Vec<RgbImage>, Vec<RgbImage>)],
    scale: u32,
) -> Result<()> {
    let tmp = verity_fs::TempPath::beside(path).map_err(|e| GenerateError::io(path, e))?;
    contact_sheet(clips, scale)
        .save_with_format(tmp.path(), image::ImageFormat::Png)
        .map_err(|e| GenerateError::io(path, std::io::Error::other(e)))?;
    tmp.persist(path).map_err(|e| GenerateError::io(path, e))
}

/// The evaluation as a Markdown table: the model's row, the renderer's, and the false accepts of
/// the colour and shape measures on the renderer's [`decoy`] and [`shape_decoy`] clips.
pub fn table(e: &Evaluation) -> String {
    let pct = |v: f32| {
        if v.is_nan() {
            "–".to_string()
        } else {
            format!("{:.0}%", 100.0 * v)
        }
    };
    let row = |name: &str, s: &Summary| {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            s.clips,
            pct(s.colour),
            pct(s.held_out_colour),
            pct(s.shape),
            pct(s.direction),
            pct(s.bounce),
            pct(s.camera),
            s.flicker
        )
    };
    let d = Summary::of(&e.decoys);
    let sd = Summary::of(&e.shape_decoys);
    [
        "| clips from | prompts | colour | colour (held-out pairs) | shape | direction of motion | bounce when asked | camera direction | flicker (levels) |".to_string(),
        "|---|---|---|---|---|---|---|---|---|".to_string(),
        row("the model", &Summary::of(&e.ours)),
        row("the renderer (ground truth: the scorer's own ceiling)", &Summary::of(&e.truth)),
        format!(
            "| the renderer, the asked object in the nearest other colour (the colour measure's false accepts; lower is better) | {} | {} | {} | – | – | – | – | – |",
            d.clips,
            pct(d.colour),
            pct(d.held_out_colour)
        ),
        format!(
            "| the renderer, the asked object in another shape (the shape measure's false accepts; lower is better) | {} | – | – | {} | – | – | – | – |",
            sd.clips,
            pct(sd.shape)
        ),
    ]
    .join("\n")
}

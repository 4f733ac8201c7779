//! The tray icon, drawn in code: a disc in the colour of the worst firing
//! severity, a ring of that colour during do not disturb.

use telltale_protocol::Severity;

/// Side of the icon, pixels (panels scale it; 32 stays sharp at 16–24).
pub const SIZE: u32 = 32;

/// Which icon to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IconKind {
    /// Worst firing severity, `None` when all is clear.
    pub worst: Option<Severity>,
    /// Do not disturb is on: a hollow ring instead of a disc.
    pub dnd: bool,
}

/// RGB of a severity: the window's `--ok`, `--info`, `--warn`, `--crit`.
pub fn colour(worst: Option<Severity>) -> [u8; 3] {
    match worst {
        None => [0x3f, 0xb9, 0x50],
        Some(Severity::Info) => [0x58, 0xa6, 0xff],
        Some(Severity::Warning) => [0xf0, 0xb4, 0x29],
        Some(Severity::Critical) => [0xf8, 0x51, 0x49],
    }
}

/// `SIZE`×`SIZE` RGBA pixels, rows top to bottom.
pub fn rgba(kind: IconKind) -> Vec<u8> {
    let [r, g, b] = colour(kind.worst);
    let centre = SIZE as f32 / 2.0;
    let outer = centre - 1.0;
    // The ring is a quarter of the radius thick: it reads at 16 px.
    let inner = if kind.dnd { outer * 0.55 } else { -1.0 };
    let mut pixels = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let dx = x as f32 + 0.5 - centre;
            let dy = y as f32 + 0.5 - centre;
            let d = (dx * dx + dy * dy).sqrt();
            // Anti-aliased edges: coverage of the pixel by the shape.
            let coverage = (outer - d + 0.5).clamp(0.0, 1.0) * (d - inner + 0.5).clamp(0.0, 1.0);
            pixels.extend_from_slice(&[r, g, b, (coverage * 255.0).round() as u8]);
        }
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(pixels: &[u8], x: u32, y: u32) -> [u8; 4] {
        let i = ((y * SIZE + x) * 4) as usize;
        pixels[i..i + 4].try_into().unwrap()
    }

    #[test]
    fn a_disc_of_the_worst_colour_on_transparency() {
        let critical = rgba(IconKind {
            worst: Some(Severity::Critical),
            dnd: false,
        });
        assert_eq!(critical.len(), (SIZE * SIZE * 4) as usize);
        assert_eq!(
            pixel(&critical, SIZE / 2, SIZE / 2),
            [0xf8, 0x51, 0x49, 255]
        );
        assert_eq!(pixel(&critical, 0, 0)[3], 0);
        let clear = rgba(IconKind {
            worst: None,
            dnd: false,
        });
        assert_eq!(pixel(&clear, SIZE / 2, SIZE / 2), [0x3f, 0xb9, 0x50, 255]);
    }

    #[test]
    fn do_not_disturb_is_a_ring() {
        let ring = rgba(IconKind {
            worst: Some(Severity::Warning),
            dnd: true,
        });
        assert_eq!(pixel(&ring, SIZE / 2, SIZE / 2)[3], 0, "hollow centre");
        assert_eq!(
            pixel(&ring, SIZE / 2, 3),
            [0xf0, 0xb4, 0x29, 255],
            "coloured rim"
        );
    }

    #[test]
    fn every_severity_has_its_own_colour() {
        let colours = [
            None,
            Some(Severity::Info),
            Some(Severity::Warning),
            Some(Severity::Critical),
        ]
        .map(colour);
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}

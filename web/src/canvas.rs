//! Painting a [`Shape`] list on a 2D canvas: one pass, the fill colour and the font set
//! only when they change (a frame is a few thousand rects and a hundred texts). The
//! canvas backing store follows the window and the device pixel ratio, so text stays
//! sharp on high-density screens.

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::scene::{Rgb, Shape, Size};

/// A canvas and its 2D context.
pub struct Canvas {
    element: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    /// Colours as CSS text, cached per colour.
    styles: Vec<(Rgb, String)>,
}

/// Why the page cannot be drawn on.
#[derive(Debug)]
pub struct NoCanvas(pub &'static str);

impl Canvas {
    /// The canvas with id `id` in the page.
    pub fn find(id: &str) -> Result<Canvas, NoCanvas> {
        let doc = web_sys::window()
            .and_then(|w| w.document())
            .ok_or(NoCanvas("no document"))?;
        let element: HtmlCanvasElement = doc
            .get_element_by_id(id)
            .ok_or(NoCanvas("no canvas element"))?
            .dyn_into()
            .map_err(|_| NoCanvas("the element is not a canvas"))?;
        let ctx: CanvasRenderingContext2d = element
            .get_context("2d")
            .map_err(|_| NoCanvas("no 2d context"))?
            .ok_or(NoCanvas("no 2d context"))?
            .dyn_into()
            .map_err(|_| NoCanvas("not a 2d context"))?;
        Ok(Canvas {
            element,
            ctx,
            styles: Vec::new(),
        })
    }

    /// Matches the backing store to the window's CSS size at `ratio` device pixels per
    /// CSS pixel; returns the size in CSS pixels.
    pub fn fit(&mut self, css: Size, ratio: f64) -> Size {
        let (w, h) = ((css.w * ratio).round(), (css.h * ratio).round());
        if f64::from(self.element.width()) != w || f64::from(self.element.height()) != h {
            self.element.set_width(w as u32);
            self.element.set_height(h as u32);
        }
        // Resizing resets the context's state: set the scale every frame.
        let _ = self.ctx.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
        css
    }

    fn style(&mut self, c: Rgb) -> &str {
        if let Some(i) = self.styles.iter().position(|(k, _)| *k == c) {
            return &self.styles[i].1;
        }
        if self.styles.len() > 512 {
            self.styles.clear();
        }
        self.styles
            .push((c, format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)));
        &self.styles[self.styles.len() - 1].1
    }

    /// Paints `shapes` in order.
    pub fn paint(&mut self, shapes: &[Shape]) {
        let mut fill: Option<Rgb> = None;
        let mut font: Option<(u32, bool)> = None;
        self.ctx.set_text_baseline("top");
        for s in shapes {
            let color = match s {
                Shape::Rect { color, .. }
                | Shape::Circle { color, .. }
                | Shape::Text { color, .. } => *color,
            };
            if fill != Some(color) {
                let css = self.style(color).to_string();
                self.ctx.set_fill_style_str(&css);
                self.ctx.set_stroke_style_str(&css);
                fill = Some(color);
            }
            match s {
                Shape::Rect { x, y, w, h, .. } => self.ctx.fill_rect(*x, *y, *w, *h),
                Shape::Circle { x, y, r, ring, .. } => {
                    self.ctx.begin_path();
                    let _ = self.ctx.arc(*x, *y, r.max(0.5), 0.0, std::f64::consts::TAU);
                    if *ring {
                        self.ctx.set_line_width(2.0);
                        self.ctx.stroke();
                    } else {
                        self.ctx.fill();
                    }
                }
                Shape::Text {
                    x,
                    y,
                    text,
                    px,
                    bold,
                    ..
                } => {
                    let f = (*px as u32, *bold);
                    if font != Some(f) {
                        let weight = if *bold { "bold " } else { "" };
                        self.ctx
                            .set_font(&format!("{weight}{}px ui-monospace, monospace", f.0));
                        font = Some(f);
                    }
                    let _ = self.ctx.fill_text(text, *x, *y);
                }
            }
        }
    }
}

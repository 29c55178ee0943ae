//! Exposition formats of `/metrics` and the choice between them by `Accept` header, as
//! the official Prometheus clients do: OpenMetrics 1.0.0 when the scraper asks for
//! `application/openmetrics-text` (Prometheus itself does, preferring it), else the
//! Prometheus text format 0.0.4 (`text/plain; version=0.0.4`, also for no or other
//! `Accept`: curl, browsers, `promtool check metrics`).
//!
//! prometheus-client writes only OpenMetrics text, so 0.0.4 is derived from it: the
//! `# EOF` and `# UNIT` lines go, a counter's family takes its samples' `_total` name in
//! `# HELP`/`# TYPE` (that is where the 0.0.4 linters look for the help text), an info
//! family becomes a gauge named `..._info`, and exemplars are dropped.

use std::collections::HashMap;

/// An exposition format of `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text004,
    /// OpenMetrics text 1.0.0.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text004 => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The format to answer an `Accept` header with: the supported media range with the
/// highest `q` (the earlier one on ties); 0.0.4 text when none is supported or the header
/// is absent.
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Text004;
    };
    let mut best: Option<(f32, Format)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut version: Option<String> = None;
        for param in parts {
            let Some((k, v)) = param.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "q" => q = v.parse().unwrap_or(0.0),
                "version" => version = Some(v.to_string()),
                _ => {}
            }
        }
        let format = match media.as_str() {
            "application/openmetrics-text" => Format::OpenMetrics,
            // A text/plain of another version is not one we can produce.
            "text/plain" if version.as_deref().is_none_or(|v| v == "0.0.4") => Format::Text004,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, format));
        }
    }
    best.map_or(Format::Text004, |(_, f)| f)
}

/// Prometheus text 0.0.4 from prometheus-client's OpenMetrics text.
pub fn openmetrics_to_text004(om: &str) -> String {
    let mut types: HashMap<&str, &str> = HashMap::new();
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some((name, t)) = rest.split_once(' ') {
                types.insert(name, t.trim());
            }
        }
    }
    let renamed = |name: &str| -> String {
        match types.get(name).copied() {
            Some("counter") => format!("{name}_total"),
            Some("info") => format!("{name}_info"),
            _ => name.to_string(),
        }
    };
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            // 0.0.4 escapes only backslash and newline in help text.
            let help = help.replace("\\\"", "\"");
            out.push_str(&format!("# HELP {} {help}\n", renamed(name)));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, t) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let t = match t.trim() {
                "counter" => "counter",
                "gauge" | "info" | "stateset" => "gauge",
                "histogram" | "gaugehistogram" => "histogram",
                "summary" => "summary",
                _ => "untyped",
            };
            out.push_str(&format!("# TYPE {} {t}\n", renamed(name)));
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        // Exemplars (` # {...} value`) exist only in OpenMetrics.
        let sample = &line[..exemplar_start(line).unwrap_or(line.len())];
        let name_end = sample.find(['{', ' ']).unwrap_or(sample.len());
        let name = &sample[..name_end];
        if let Some(family) = name.strip_suffix("_created") {
            if matches!(
                types.get(family),
                Some(&"counter" | &"histogram" | &"summary")
            ) {
                continue;
            }
        }
        out.push_str(sample);
        out.push('\n');
    }
    out
}

/// Where a sample line's exemplar (` # {...}`) starts, looking past quoted label values
/// (which may contain `#`, `{` or `}`).
fn exemplar_start(line: &str) -> Option<usize> {
    let (mut in_quotes, mut escaped, mut depth) = (false, false, 0u32);
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '{' if !in_quotes => depth += 1,
            '}' if !in_quotes => depth = depth.saturating_sub(1),
            '#' if !in_quotes && depth == 0 && line[..i].ends_with(' ') => return Some(i - 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers() {
        use Format::*;
        assert_eq!(negotiate(None), Text004);
        assert_eq!(negotiate(Some("*/*")), Text004);
        assert_eq!(negotiate(Some("text/html,application/xhtml+xml")), Text004);
        assert_eq!(negotiate(Some("text/plain;version=0.0.4")), Text004);
        assert_eq!(negotiate(Some("text/plain")), Text004);
        assert_eq!(negotiate(Some("application/openmetrics-text")), OpenMetrics);
        // What Prometheus 2.42 sends.
        assert_eq!(
            negotiate(Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            )),
            OpenMetrics
        );
        // Prometheus with OpenMetrics scraping turned off.
        assert_eq!(
            negotiate(Some("text/plain;version=0.0.4;q=1,*/*;q=0.1")),
            Text004
        );
        assert_eq!(
            negotiate(Some("text/plain;q=0.9, application/openmetrics-text;q=0.5")),
            Text004
        );
        assert_eq!(
            negotiate(Some(
                "text/plain;q=0.3, Application/OpenMetrics-Text; q=0.8"
            )),
            OpenMetrics
        );
        assert_eq!(negotiate(Some("application/openmetrics-text;q=0")), Text004);
        assert_eq!(negotiate(Some("text/plain;version=9.9")), Text004);
        assert_eq!(negotiate(Some(";;;,,,=q=;")), Text004);
    }

    #[test]
    fn exemplars_found_past_quoted_labels() {
        assert_eq!(exemplar_start("a 1"), None);
        assert_eq!(exemplar_start("a 1 # {t=\"x\"} 1"), Some(3));
        let tricky = "a{v=\"x # {y} \\\" # z\"} 1";
        assert_eq!(exemplar_start(tricky), None, "{tricky}");
        assert_eq!(
            openmetrics_to_text004(&format!("# TYPE a gauge\n{tricky}\n")),
            format!("# TYPE a gauge\n{tricky}\n")
        );
    }

    #[test]
    fn converts_each_family_type() {
        let om = "# HELP a_requests Requests.\n\
                  # TYPE a_requests counter\n\
                  a_requests_total{code=\"200\"} 3 # {trace=\"x\"} 1.0\n\
                  a_requests_created 1.7e9\n\
                  # HELP a_temp_celsius Temp \\\"now\\\".\n\
                  # TYPE a_temp_celsius gauge\n\
                  # UNIT a_temp_celsius celsius\n\
                  a_temp_celsius 21.5\n\
                  # HELP a_build Build.\n\
                  # TYPE a_build info\n\
                  a_build_info{version=\"1\"} 1\n\
                  # HELP a_lat Latency.\n\
                  # TYPE a_lat histogram\n\
                  a_lat_sum 1.0\n\
                  a_lat_count 2\n\
                  a_lat_bucket{le=\"+Inf\"} 2\n\
                  # EOF\n";
        let text = openmetrics_to_text004(om);
        assert_eq!(
            text,
            "# HELP a_requests_total Requests.\n\
             # TYPE a_requests_total counter\n\
             a_requests_total{code=\"200\"} 3\n\
             # HELP a_temp_celsius Temp \"now\".\n\
             # TYPE a_temp_celsius gauge\n\
             a_temp_celsius 21.5\n\
             # HELP a_build_info Build.\n\
             # TYPE a_build_info gauge\n\
             a_build_info{version=\"1\"} 1\n\
             # HELP a_lat Latency.\n\
             # TYPE a_lat histogram\n\
             a_lat_sum 1.0\n\
             a_lat_count 2\n\
             a_lat_bucket{le=\"+Inf\"} 2\n"
        );
    }
}

//! The markdown the benchmark prints: one table per measurement.

/// One figure beside its target and bound.
pub struct Row {
    pub what: String,
    pub measured: String,
    pub target: String,
    pub bound: String,
    /// The target is met (reported, never asserted).
    pub met: bool,
    pub note: String,
}

pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
    /// Said under the table: how it was measured, what was not.
    pub notes: Vec<String>,
}

pub fn print(sections: &[Section]) {
    for section in sections {
        println!("\n### {}\n", section.title);
        println!("| what | measured | target | bound | met | notes |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for row in &section.rows {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                row.what,
                row.measured,
                row.target,
                row.bound,
                if row.met { "yes" } else { "**no**" },
                row.note
            );
        }
        for note in &section.notes {
            println!("\n{note}");
        }
    }
}

/// `q`-quantile (0..=1) of `values` (sorted here), nearest rank.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

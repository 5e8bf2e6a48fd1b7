fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind: policy::PolicyType = args[1].parse().unwrap();
    for f in &args[2..] {
        let t = std::fs::read_to_string(f).unwrap();
        let t = if args.get(0).is_some() && std::env::var("WRAP").is_ok() {
            let tt = t.trim();
            let body = if tt.starts_with('{') {
                tt.to_owned()
            } else {
                format!("{{{tt}}}")
            };
            format!("{{\"Version\": \"2012-10-17\", \"Statement\": [{body}]}}")
        } else {
            t
        };
        let fs = policy::validate(&t, kind);
        println!("== {f} ({})", fs.len());
        for x in fs {
            println!(
                "  {}:{} {} [{:?}] {}",
                x.line,
                x.column,
                x.severity.as_str(),
                x.statement,
                x.message
            );
        }
    }
}

use std::hint::black_box;
fn main() {
    let name = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&name).unwrap();
    let n = 2000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        black_box(policy::validate(
            black_box(&text),
            policy::PolicyType::Resource,
        ));
    }
    println!("validate {} ns", t.elapsed().as_nanos() / n);
    let t = std::time::Instant::now();
    for _ in 0..n {
        let _ = black_box(policy::Policy::parse(
            black_box(&text),
            policy::PolicyType::Resource,
        ));
    }
    println!("parse {} ns", t.elapsed().as_nanos() / n);
}

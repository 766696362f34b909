//! The Rust counterpart of the C conformance programs: std's fs, io, env, time and process APIs.
//! Runs in the sandbox with argv[1] = "/in", argv[2] = "/out", natively with temp directories.
//! Prints nothing host-specific (no paths, no timestamps); error kinds only, never OS messages.
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;

fn list(dir: &Path, root: &Path, out: &mut Vec<String>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let meta = e.metadata()?;
        let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if meta.is_dir() {
            out.push(format!("{}/", rel));
            list(&e.path(), root, out)?;
        } else {
            out.push(format!("{} {}", rel, meta.len()));
        }
    }
    Ok(())
}

/// The error's OS message without its number ("Directory not empty (os error 39)" natively,
/// "... (os error 55)" under WASI). Not `kind()`: Rust 1.63's wasm32-wasi std maps only some
/// errnos to kinds (ENOTEMPTY, ENOTDIR come out Uncategorized), so kinds differ from Linux.
fn kind<T>(r: io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => {
            let msg = e.to_string();
            msg.split(" (os error").next().unwrap().to_string()
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = (Path::new(&args[1]), Path::new(&args[2]));
    let mode = args.get(3).map(String::as_str).unwrap_or("");

    println!("args: {:?}", &args[3..]);
    let env: BTreeMap<String, String> = std::env::vars().collect();
    println!("env: {:?}", env);
    println!("GREETING: {:?}", std::env::var("GREETING"));

    let mut stdin = String::new();
    io::stdin().lock().read_to_string(&mut stdin).unwrap();
    let words: usize = stdin.lines().map(|l| l.split_whitespace().count()).sum();
    println!("stdin: {} bytes, {} lines, {} words", stdin.len(), stdin.lines().count(), words);

    let mut tree = Vec::new();
    list(input, input, &mut tree).unwrap();
    println!("input tree: {:#?}", tree);

    let data = fs::read(input.join("data.bin")).unwrap();
    let sum = data.iter().fold(0u32, |h, &b| (h ^ b as u32).wrapping_mul(16777619));
    println!("data.bin: {} bytes, hash {:08x}", data.len(), sum);
    let f = fs::File::open(input.join("notes/lines.txt")).unwrap();
    for (i, line) in io::BufReader::new(f).lines().enumerate() {
        println!("line {}: {:?}", i + 1, line.unwrap());
    }

    // Writing: create_dir_all, write, append, seek + overwrite, rename, remove.
    fs::create_dir_all(output.join("a/b/c")).unwrap();
    fs::write(output.join("a/b/c/deep.txt"), b"deep\n").unwrap();
    let mut f = fs::OpenOptions::new().create(true).read(true).write(true).open(output.join("seek.bin")).unwrap();
    f.write_all(&[7u8; 100]).unwrap();
    f.seek(SeekFrom::Start(10)).unwrap();
    f.write_all(b"HELLO").unwrap();
    f.seek(SeekFrom::End(50)).unwrap();
    f.write_all(b"tail").unwrap();
    println!("seek.bin len {}", f.metadata().unwrap().len());
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut back = Vec::new();
    f.read_to_end(&mut back).unwrap();
    println!("read back {} bytes, [10..15] = {:?}", back.len(), String::from_utf8_lossy(&back[10..15]));
    for round in 0..3 {
        let mut log = fs::OpenOptions::new().append(true).create(true).open(output.join("log.txt")).unwrap();
        writeln!(log, "round {}", round).unwrap();
    }
    fs::write(output.join("temp.txt"), "temporary").unwrap();
    fs::rename(output.join("temp.txt"), output.join("a/renamed.txt")).unwrap();
    fs::write(output.join("gone.txt"), "gone").unwrap();
    fs::remove_file(output.join("gone.txt")).unwrap();
    fs::create_dir(output.join("empty")).unwrap();
    fs::remove_dir(output.join("empty")).unwrap();
    fs::create_dir_all(output.join("scratch/x/y")).unwrap();
    fs::write(output.join("scratch/x/y/z.txt"), "z").unwrap();
    fs::remove_dir_all(output.join("scratch")).unwrap();

    // Errors, by kind.
    println!("open missing: {}", kind(fs::File::open(input.join("missing"))));
    println!("create_dir existing: {}", kind(fs::create_dir(output.join("a"))));
    println!("create_new existing: {}", kind(fs::OpenOptions::new().write(true).create_new(true).open(output.join("log.txt"))));
    println!("remove_dir non-empty: {}", kind(fs::remove_dir(output.join("a"))));
    println!("read_dir of a file: {}", kind(fs::read_dir(output.join("log.txt"))));
    println!("metadata missing: {}", kind(fs::metadata(output.join("nothing"))));

    // Links (mode "links", with symlinks in the input): read and followed, hard links, and an
    // empty directory left in the output. (Creating a symlink from Rust needs wasi_ext, unstable
    // in the Rust 1.63 Debian ships; the C program links.c covers that.)
    if mode == "links" {
        println!("read_link link-to-data: {:?}", fs::read_link(input.join("link-to-data")).map_err(|e| kind::<()>(Err(e))));
        let lmeta = fs::symlink_metadata(input.join("link-to-data")).unwrap();
        println!("symlink_metadata: symlink {}, len {}", lmeta.file_type().is_symlink(), lmeta.len());
        println!("metadata through it: file {}, len {}", fs::metadata(input.join("link-to-data")).map(|m| m.is_file()).unwrap_or(false), fs::metadata(input.join("link-to-data")).map(|m| m.len()).unwrap_or(0));
        println!("read through a directory link: {:?}", fs::read_to_string(input.join("link-to-notes/more.txt")).map_err(|e| kind::<()>(Err(e))));
        println!("metadata of a dangling link: {}", kind(fs::metadata(input.join("dangling"))));
        println!("read_link of a file: {}", kind(fs::read_link(input.join("data.bin"))));
        let symlinks = fs::read_dir(input).unwrap().filter(|e| e.as_ref().unwrap().file_type().unwrap().is_symlink()).count();
        println!("symlinks in the input: {}", symlinks);
        println!("hard_link log.txt: {}", kind(fs::hard_link(output.join("log.txt"), output.join("log-hard.txt"))));
        println!("hard_link a directory: {}", kind(fs::hard_link(output.join("a"), output.join("a-hard"))));
        fs::OpenOptions::new().append(true).open(output.join("log-hard.txt")).unwrap().write_all(b"through the hard link\n").unwrap();
        println!("log.txt now: {:?}", fs::read_to_string(output.join("log.txt")).unwrap());
        fs::create_dir(output.join("kept-empty")).unwrap();
    }

    let mut out_tree = Vec::new();
    list(output, output, &mut out_tree).unwrap();
    println!("output tree: {:#?}", out_tree);

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let t0 = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(30));
    println!("plausible time: {}, slept >= 30ms: {}", now.as_secs() > 1_700_000_000, t0.elapsed().as_millis() >= 30);

    io::stdout().flush().unwrap();
    eprintln!("done, mode {:?}", mode);
    match mode {
        "exit9" => std::process::exit(9),
        "panic" => panic!("deliberate panic"),
        _ => {}
    }
}

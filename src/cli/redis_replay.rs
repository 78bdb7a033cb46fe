//! `checkin redis-replay` (hidden, for `scripts/bench-scale` (c)): what one Redis node does for
//! the Redis work of scans alone, with no service in front of it, in the manner of
//! `redis-benchmark` (many clients, each sending a command and waiting for its answer).
//!
//! `redis-benchmark` itself cannot do this: it repeats one command with arguments from the
//! command line, which cannot carry the NUL bytes of the binary event records, and a scan's
//! commands depend on each other (the commit script writes only if the person's state is at
//! the version the read saw). So this replays whole scans captured from the service (with
//! `MONITOR`): each client takes a fresh resident id of the captured one's length, puts it
//! wherever the captured id was (keys and arguments, binary records included, whose lengths
//! therefore hold), and sends that person's scans in order, round trip by round trip as the
//! service did: consecutive plain commands in one pipeline (the reads before a commit), each
//! script call on its own. Every commit must answer "committed" (`{1, …}`); one that finds the
//! version moved or fails ends the run with an error, as the replay would then not be doing a
//! scan's work.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context};
use clap::Args;
use redis::aio::MultiplexedConnection;
use redis::Value;

/// Flags of `checkin redis-replay`.
#[derive(Debug, Args)]
pub struct RedisReplayArgs {
    /// The Redis node to replay against: the one the capture was made on (one node: keys are
    /// not routed; and the scripts the commands call by SHA must be loaded there).
    #[arg(long)]
    pub redis_url: String,
    /// Captured commands, one file per command named `SCAN-INDEX` (both numbers, sorted as
    /// text in the order sent), each holding the command as Redis's protocol sends it (RESP:
    /// `*N` then `$LEN` and the bytes of each argument, lines ending in CRLF). The scans are
    /// those of one person, the first creating the person's state.
    #[arg(long)]
    pub commands: PathBuf,
    /// The resident id in the captured commands (at least 13 bytes, as the service's `U` and
    /// 12 hex digits; its first byte is kept and the rest becomes a decimal serial number
    /// that starts from the clock, so runs do not meet each other's people).
    #[arg(long)]
    pub resident: String,
    /// Concurrent clients, each on its own connection.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub clients: u32,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds replayed before the measurement starts (not counted).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Fresh residents to replay in all, each making the captured scans; the run ends when
    /// they are done (or when `--duration` ends first). A count in instructions
    /// (`scripts/redis-instructions`) replays a fixed number of people, as what a scan costs
    /// Redis grows a little with what it holds already.
    #[arg(long)]
    pub people: Option<u64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One command: its arguments, the name first.
type Command = Vec<Vec<u8>>;

/// What one round trip of a scan sends.
#[derive(Debug)]
enum Trip {
    /// Plain commands, pipelined.
    Pipeline(Vec<Command>),
    /// One script call, whose answer must be `{1, …}`.
    Script(Command),
}

/// Replays the captured scans and prints scans per second.
///
/// # Errors
/// Unreadable or empty captures, a resident id not found in them, a Redis error, or a commit
/// that does not answer "committed".
pub async fn run(args: RedisReplayArgs) -> anyhow::Result<()> {
    ensure!(
        args.duration > 0.0 && args.warmup >= 0.0,
        "--duration must be positive"
    );
    let resident = args.resident.as_bytes().to_vec();
    ensure!(resident.len() >= 13, "--resident must be at least 13 bytes");
    let scans = Arc::new(read_scans(&args.commands, &resident)?);
    let commands: usize = scans.iter().flatten().map(Trip::commands).sum();
    let trips: usize = scans.iter().map(Vec::len).sum();

    let client = redis::Client::open(args.redis_url.as_str()).context("--redis-url")?;
    // Serial numbers start from the clock, so a second run on the same Redis takes fresh ids.
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() % 100_000)
        * 10_000_000;
    let serial = Arc::new(AtomicU64::new(start));
    let warmup_ends = Instant::now() + Duration::from_secs_f64(args.warmup);
    let ends = warmup_ends + Duration::from_secs_f64(args.duration);
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .context("connecting to Redis")?;
        let (scans, serial, resident) = (scans.clone(), serial.clone(), resident.clone());
        let last = args.people.map(|n| start + n);
        tasks.push(tokio::spawn(async move {
            client_loop(conn, &scans, (&serial, last), &resident, warmup_ends, ends).await
        }));
    }
    let mut counted = 0u64;
    for task in tasks {
        counted += task.await.context("a replay client panicked")??;
    }
    // Shorter than `--duration` when `--people` were done first.
    let seconds = Instant::now()
        .min(ends)
        .saturating_duration_since(warmup_ends)
        .as_secs_f64();
    let rate = counted as f64 / seconds.max(f64::MIN_POSITIVE);
    if args.json {
        let out = serde_json::json!({
            "scans": counted,
            "seconds": seconds,
            "scans_per_s": rate,
            "clients": args.clients,
            "commands_per_scan": commands as f64 / scans.len() as f64,
            "round_trips_per_scan": trips as f64 / scans.len() as f64,
        });
        println!("{out}");
    } else {
        println!(
            "{counted} scans in {:.1} s: {rate:.0} scans/s ({} clients; a scan is {:.1} \
             commands in {:.1} round trips)",
            seconds,
            args.clients,
            commands as f64 / scans.len() as f64,
            trips as f64 / scans.len() as f64,
        );
    }
    Ok(())
}

/// One client: fresh people, each making the captured scans, until `ends` or until the
/// shared serial number reaches `last` (when set). Returns the scans it finished between
/// `warmup_ends` and `ends`.
async fn client_loop(
    mut conn: MultiplexedConnection,
    scans: &[Vec<Trip>],
    (serial, last): (&AtomicU64, Option<u64>),
    resident: &[u8],
    warmup_ends: Instant,
    ends: Instant,
) -> anyhow::Result<u64> {
    let mut counted = 0;
    loop {
        let n = serial.fetch_add(1, Ordering::Relaxed);
        if last.is_some_and(|last| n >= last) {
            return Ok(counted);
        }
        let fresh = fresh_id(resident, n);
        if fresh == resident {
            continue; // the captured person, whose state is there already
        }
        for trips in scans {
            if Instant::now() >= ends {
                return Ok(counted);
            }
            for trip in trips {
                send(&mut conn, trip, resident, &fresh).await?;
            }
            if Instant::now() >= warmup_ends {
                counted += 1;
            }
        }
    }
}

/// Sends one round trip with `fresh` in the place of `resident`.
async fn send(
    conn: &mut MultiplexedConnection,
    trip: &Trip,
    resident: &[u8],
    fresh: &[u8],
) -> anyhow::Result<()> {
    match trip {
        Trip::Pipeline(commands) => {
            let mut pipe = redis::pipe();
            for command in commands {
                pipe.add_command(to_cmd(command, resident, fresh));
            }
            let _: Vec<Value> = pipe.query_async(conn).await?;
        }
        Trip::Script(command) => {
            let answer: Value = to_cmd(command, resident, fresh).query_async(conn).await?;
            let committed = matches!(&answer, Value::Array(items)
                if matches!(items.first(), Some(Value::Int(1))));
            if !committed {
                bail!(
                    "a replayed commit answered {answer:?}, not {{1, …}}: the replay no longer \
                     does a scan's work (was the capture of a person's first scans?)"
                );
            }
        }
    }
    Ok(())
}

/// The command with `fresh` in the place of every `resident`.
fn to_cmd(command: &Command, resident: &[u8], fresh: &[u8]) -> redis::Cmd {
    let mut cmd = redis::Cmd::new();
    for arg in command {
        cmd.arg(replace(arg, resident, fresh));
    }
    cmd
}

/// `haystack` with each `from` replaced by `to` (of the same length).
fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = haystack.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if out[i..i + from.len()] == *from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

/// A resident id as long as `like`: its first byte, then the last `like.len() - 1` decimal
/// digits of `n`, zero-padded.
fn fresh_id(like: &[u8], n: u64) -> Vec<u8> {
    let width = like.len() - 1;
    let n = u32::try_from(width)
        .ok()
        .and_then(|w| 10u64.checked_pow(w))
        .map_or(n, |limit| n % limit);
    let mut id = like[..1].to_vec();
    id.extend_from_slice(format!("{n:0width$}").as_bytes());
    id
}

impl Trip {
    /// The commands it sends.
    fn commands(&self) -> usize {
        match self {
            Self::Pipeline(commands) => commands.len(),
            Self::Script(_) => 1,
        }
    }
}

/// Reads the capture: the scans in order, each as its round trips.
fn read_scans(dir: &PathBuf, resident: &[u8]) -> anyhow::Result<Vec<Vec<Trip>>> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|entry| {
            let entry = entry?;
            Ok((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ))
        })
        .collect::<std::io::Result<_>>()?;
    files.sort();
    let mut scans: Vec<(String, Vec<Command>)> = Vec::new();
    for (name, path) in files {
        let Some((scan, _)) = name.split_once('-') else {
            bail!("{name}: a capture file is named SCAN-INDEX");
        };
        let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let command = parse_resp(&raw).with_context(|| format!("{name}: not a RESP command"))?;
        match scans.last_mut() {
            Some((last, commands)) if *last == scan => commands.push(command),
            _ => scans.push((scan.to_owned(), vec![command])),
        }
    }
    ensure!(!scans.is_empty(), "{} holds no commands", dir.display());
    let mentions = |c: &Command| {
        c.iter()
            .any(|a| a.windows(resident.len()).any(|w| w == resident))
    };
    ensure!(
        scans.iter().all(|(_, cs)| cs.iter().any(mentions)),
        "every captured scan must name the resident {}",
        String::from_utf8_lossy(resident)
    );
    Ok(scans.into_iter().map(|(_, cs)| round_trips(cs)).collect())
}

/// A command as RESP sends it: `*N\r\n`, then `$LEN\r\n` and `LEN` bytes and `\r\n` for each of
/// the `N` arguments, and nothing after.
fn parse_resp(raw: &[u8]) -> anyhow::Result<Command> {
    /// The number after `mark` up to CRLF, and the rest.
    fn header(raw: &[u8], mark: u8) -> anyhow::Result<(usize, &[u8])> {
        let rest = raw.strip_prefix(&[mark]).context("a header is missing")?;
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a header has no CRLF")?;
        let n = std::str::from_utf8(&rest[..end])?.parse()?;
        Ok((n, &rest[end + 2..]))
    }
    let (count, mut rest) = header(raw, b'*')?;
    let mut command = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, after) = header(rest, b'$')?;
        let arg = after.get(..len).context("an argument is cut short")?;
        rest = after[len..]
            .strip_prefix(b"\r\n")
            .context("an argument has no CRLF after it")?;
        command.push(arg.to_vec());
    }
    ensure!(rest.is_empty(), "bytes after the command");
    ensure!(!command.is_empty(), "an empty command");
    Ok(command)
}

/// Consecutive plain commands in one pipeline; each script call alone.
fn round_trips(commands: Vec<Command>) -> Vec<Trip> {
    let mut trips = Vec::new();
    let mut plain = Vec::new();
    for command in commands {
        let name = command.first().map(|n| n.to_ascii_uppercase());
        if matches!(name.as_deref(), Some(b"EVALSHA" | b"EVAL")) {
            if !plain.is_empty() {
                trips.push(Trip::Pipeline(std::mem::take(&mut plain)));
            }
            trips.push(Trip::Script(command));
        } else {
            plain.push(command);
        }
    }
    if !plain.is_empty() {
        trips.push(Trip::Pipeline(plain));
    }
    trips
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_id_keeps_the_length_and_first_byte_of_the_captured_one() {
        assert_eq!(fresh_id(b"U0123456789ab", 42), b"U000000000042".to_vec());
        // Serials past the width keep their low digits, so clients still differ.
        assert_eq!(
            fresh_id(b"U0123456789ab", 7_123_450_000_001),
            b"U123450000001".to_vec()
        );
        assert_ne!(
            fresh_id(b"U0123456789ab", 7_123_450_000_001),
            fresh_id(b"U0123456789ab", 7_123_450_000_002)
        );
        assert_eq!(fresh_id(b"U0123456789ab", 7), fresh_id(b"U0123456789ab", 7));
        assert_ne!(fresh_id(b"U0123456789ab", 7), fresh_id(b"U0123456789ab", 8));
    }

    #[test]
    fn every_mention_of_the_resident_is_replaced_inside_binary_arguments() {
        let arg = b"\x00\x0dU0123456789ab\x00{p:U0123456789ab}:state".to_vec();
        let out = replace(&arg, b"U0123456789ab", b"U000000000042");
        assert_eq!(
            out,
            b"\x00\x0dU000000000042\x00{p:U000000000042}:state".to_vec()
        );
    }

    #[test]
    fn a_captured_command_keeps_nul_bytes_and_crlf_inside_its_arguments() {
        let raw = b"*3\r\n$7\r\nEVALSHA\r\n$4\r\na\0\r\n\r\n$0\r\n\r\n";
        let command = parse_resp(raw).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            command,
            vec![b"EVALSHA".to_vec(), b"a\0\r\n".to_vec(), Vec::new()]
        );
        assert!(
            parse_resp(b"*2\r\n$3\r\nGET\r\n").is_err(),
            "an argument missing"
        );
        assert!(
            parse_resp(b"*1\r\n$9\r\nGET\r\n").is_err(),
            "an argument cut short"
        );
    }

    #[test]
    fn reads_before_a_commit_go_in_one_pipeline_and_each_script_alone() {
        let c = |s: &str| -> Command { s.split(' ').map(|a| a.as_bytes().to_vec()).collect() };
        let trips = round_trips(vec![
            c("HMGET a b"),
            c("GET c"),
            c("evalsha x 1 a"),
            c("GET d"),
        ]);
        assert!(matches!(&trips[0], Trip::Pipeline(cs) if cs.len() == 2));
        assert!(matches!(&trips[1], Trip::Script(_)));
        assert!(matches!(&trips[2], Trip::Pipeline(cs) if cs.len() == 1));
        assert_eq!(trips.len(), 3);
    }
}

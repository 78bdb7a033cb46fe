//! The `checkin` binary: a thin shell over the library.

/// mimalloc instead of the system allocator: a profile of the scan path under load spent a
/// quarter of the service's CPU in glibc's malloc and free (many small, short-lived buffers:
/// JSON, Redis commands, HTTP headers).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() {
    std::process::exit(checkin::cli::run().await);
}

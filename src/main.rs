//! The `checkin` binary: a thin shell over the library.

#[actix_web::main]
async fn main() {
    std::process::exit(checkin::cli::run().await);
}

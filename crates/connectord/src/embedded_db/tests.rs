use super::*;

#[test]
fn a_throwaway_cluster_answers_on_its_port_and_is_gone_after_drop() {
    let started = Instant::now();
    let mut db = EmbeddedDb::start().expect("the machine has PostgreSQL binaries");
    eprintln!("started in {:?}", started.elapsed());
    let folder = db.folder().to_owned();
    let port = db.port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(
        folder.join(format!(".s.PGSQL.{port}")).exists(),
        "the socket is in the folder"
    );
    db.restart().unwrap();
    assert_eq!(db.port(), port);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(db);
    assert!(!folder.exists());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

use crate::helpers::{start_with, Receiver};
use std::time::Duration;

#[tokio::test]
async fn a_refused_callback_is_retried_after_each_delay_until_taken() {
    let h = start_with(|config| config.callback_delays_ms = vec![200, 400, 800]).await;
    let receiver = Receiver::start(2).await;
    h.paid_native("P20261129201", 100, &receiver.url).await;
    let deliveries = receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let deliveries_after = receiver.deliveries();
    assert_eq!(deliveries_after.len(), 3);
    assert!(deliveries[1].at - deliveries[0].at >= Duration::from_millis(200));
    assert!(deliveries[2].at - deliveries[1].at >= Duration::from_millis(400));
    let ids: Vec<String> = deliveries
        .iter()
        .map(|d| h.open_callback(d).unwrap().0.id)
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one notification, retried"
    );
}

#[tokio::test]
async fn a_callback_never_taken_is_given_up_after_the_last_delay() {
    let h = start_with(|config| config.callback_delays_ms = vec![50, 50]).await;
    let receiver = Receiver::start(usize::MAX).await;
    h.paid_native("P20261129202", 100, &receiver.url).await;
    receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.deliveries().len(), 3);
}

#[test]
fn wechat_pays_schedule_is_the_default() {
    let config = paygate_sandbox::WechatSandboxConfig::default();
    let minutes: Vec<u64> = config
        .callback_delays_ms
        .iter()
        .map(|ms| ms / 1_000)
        .collect();
    assert_eq!(
        minutes,
        [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600]
    );
    assert_eq!(config.fee_rate_ppm, 6_000);
    assert_eq!(config.listen.to_string(), "127.0.0.1:0");
}

#[tokio::test]
async fn shutdown_stops_pending_callback_retries_at_once() {
    let h = start_with(|config| config.callback_delays_ms = vec![15_000]).await;
    let receiver = Receiver::start(usize::MAX).await;
    h.paid_native("P20261129203", 100, &receiver.url).await;
    receiver.wait_for(1).await;
    let started = std::time::Instant::now();
    h.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the 15 s retry pause was cut short"
    );
    assert_eq!(receiver.deliveries().len(), 1);
}

package dev.kura.s3.internal;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** kura-s3's WARN lines go through kura-config's LogRateLimiter: one line per interval, the rest counted. */
class RateLimitedLogTest {

    @Test
    void oneLinePerIntervalAndTheNextSaysHowManyWereHeldBack() throws InterruptedException {
        Logger logger = (Logger) LoggerFactory.getLogger("dev.kura.s3.test.RateLimitedLogTest");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        logger.setLevel(Level.WARN); // whatever the test configuration says
        logger.setAdditive(false);
        try {
            RateLimitedLog log = new RateLimitedLog(logger, 200, TimeUnit.MILLISECONDS);
            assertThat(log.warn("refused {}", 1)).isTrue();
            for (int i = 2; i <= 5; i++) {
                assertThat(log.warn("refused {}", i)).as("within the interval").isFalse();
            }
            assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage).containsExactly("refused 1");
            Thread.sleep(250); // past the interval: the next line gets through and counts the four
            assertThat(log.warn("refused {}", 6)).isTrue();
            assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage)
                    .containsExactly("refused 1", "refused 6 (4 more like this not logged)");
        } finally {
            logger.detachAppender(lines);
        }
    }
}

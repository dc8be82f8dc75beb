package dev.kura.s3;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * Collects what kura writes on its access log ({@code kura.access}) during each test: register it
 * with {@code @RegisterExtension}. The logger's level is INFO during the test and restored after.
 */
final class AccessLogCapture implements BeforeEachCallback, AfterEachCallback {
    private final Logger access = (Logger) LoggerFactory.getLogger("kura.access");
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private Level before;

    @Override
    public void beforeEach(ExtensionContext context) {
        before = access.getLevel();
        access.setLevel(Level.INFO);
        lines.start();
        access.addAppender(lines);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        access.detachAppender(lines);
        access.setLevel(before);
    }

    /** A copy of the events logged so far, oldest first. */
    List<ILoggingEvent> events() {
        synchronized (lines) { // AppenderBase.doAppend holds the appender's monitor
            return List.copyOf(lines.list);
        }
    }
}

// The "Complete Integration Example" of shared/seeds/scheduler-monitoring-api-usage-guide.md, verbatim.
// The test replaces only the base URL (API_URL / apiUrl) with the bridge's, and sets
// MONITORING_API_KEY, as a user moving to the bridge would.
import axios from 'axios';

class SchedulerMonitoringClient {
  private apiUrl: string;
  private apiKey: string;
  private schedulerId: string;
  private heartbeatInterval?: NodeJS.Timeout;

  constructor(config: {
    apiUrl: string;
    apiKey: string;
    schedulerId: string;
    serviceName: string;
    jobName: string;
  }) {
    this.apiUrl = config.apiUrl;
    this.apiKey = config.apiKey;
    this.schedulerId = config.schedulerId;
  }

  private async request(method: string, path: string, data?: any) {
    try {
      const response = await axios({
        method,
        url: `${this.apiUrl}${path}`,
        data,
        headers: {
          'x-api-key': this.apiKey,
          'Content-Type': 'application/json'
        }
      });
      return response.data;
    } catch (error) {
      console.error(`API request failed: ${method} ${path}`, error.response?.data);
      throw error;
    }
  }

  async register(serviceName: string, jobName: string, ownerEmail?: string) {
    return this.request('POST', '/schedulers/register', {
      scheduler_id: this.schedulerId,
      service_name: serviceName,
      job_name: jobName,
      owner_email: ownerEmail
    });
  }

  async updateStatus(
    status: 'pending' | 'running' | 'completed' | 'failed',
    serviceName: string,
    jobName: string,
    options?: {
      executionTimeMs?: number;
      errorMessage?: string;
      metadata?: Record<string, any>;
    }
  ) {
    return this.request('PUT', `/schedulers/${this.schedulerId}/status`, {
      scheduler_id: this.schedulerId,
      service_name: serviceName,
      job_name: jobName,
      status,
      timestamp: new Date().toISOString(),
      execution_time_ms: options?.executionTimeMs,
      error_message: options?.errorMessage,
      metadata: options?.metadata
    });
  }

  async sendHeartbeat() {
    return this.request('POST', `/schedulers/${this.schedulerId}/heartbeat`, {
      scheduler_id: this.schedulerId
    });
  }

  startHeartbeat(intervalMinutes: number = 5) {
    this.heartbeatInterval = setInterval(
      () => this.sendHeartbeat(),
      intervalMinutes * 60 * 1000
    );
  }

  stopHeartbeat() {
    if (this.heartbeatInterval) {
      clearInterval(this.heartbeatInterval);
      this.heartbeatInterval = undefined;
    }
  }
}

// Usage in your EOD process
async function runEODProcess() {
  const monitor = new SchedulerMonitoringClient({
    apiUrl: 'https://monitoring.example.com/api/v1',
    apiKey: process.env.MONITORING_API_KEY!,
    schedulerId: 'my-service-eod-process',
    serviceName: 'My Service',
    jobName: 'EOD Processing'
  });

  const startTime = Date.now();

  try {
    // Register scheduler (idempotent - safe to call every time)
    await monitor.register('My Service', 'EOD Processing', 'team@example.com');

    // Mark as running
    await monitor.updateStatus('running', 'My Service', 'EOD Processing');

    // Start heartbeat
    monitor.startHeartbeat(5);

    // Your actual EOD processing logic
    console.log('Starting EOD process...');
    const result = await performEODTasks();

    // Stop heartbeat
    monitor.stopHeartbeat();

    // Mark as completed
    const executionTime = Date.now() - startTime;
    await monitor.updateStatus('completed', 'My Service', 'EOD Processing', {
      executionTimeMs: executionTime,
      metadata: {
        records_processed: result.recordsProcessed,
        files_generated: result.filesGenerated
      }
    });

    console.log('EOD process completed successfully');
  } catch (error) {
    // Stop heartbeat on error
    monitor.stopHeartbeat();

    // Mark as failed
    await monitor.updateStatus('failed', 'My Service', 'EOD Processing', {
      errorMessage: error.message,
      metadata: {
        error_type: error.constructor.name,
        stack_trace: error.stack
      }
    });

    console.error('EOD process failed:', error);
    throw error;
  }
}

async function performEODTasks() {
  // Your actual business logic here
  return {
    recordsProcessed: 1000,
    filesGenerated: 5
  };
}

// Run the process
runEODProcess().catch(console.error);

// The Node.js client of shared/seeds/climate-system-monitor-integration-guide.md: the class verbatim, then
// a short driver in place of the seed's endless usage loop.
const axios = require('axios');
const os = require('os');

class SystemMonitorClient {
    constructor(baseUrl, serviceName, apiKey = null) {
        this.baseUrl = baseUrl.replace(/\/$/, '');
        this.serviceName = serviceName;
        this.headers = {
            'Content-Type': 'application/json'
        };
        if (apiKey) {
            this.headers['Authorization'] = `Bearer ${apiKey}`;
        }
    }

    async updateStatus(status = 'up', endpoint = null) {
        const data = {
            name: this.serviceName,
            status
        };
        if (endpoint) {
            data.endpoint = endpoint;
        }

        const response = await axios.post(
            `${this.baseUrl}/services/`,
            data,
            { headers: this.headers }
        );
        return response.data;
    }

    async sendMetrics() {
        const metrics = {
            cpu: os.loadavg()[0],
            memory: (os.totalmem() - os.freemem()) / os.totalmem() * 100,
            disk: 0 // Requires additional package for disk usage
        };

        for (const [metricType, value] of Object.entries(metrics)) {
            const data = {
                service: this.serviceName,
                metric_type: metricType,
                value
            };
            await axios.post(
                `${this.baseUrl}/metrics/`,
                data,
                { headers: this.headers }
            );
        }
    }

    async updatePipeline(pipelineType, status, metadata = null) {
        const data = {
            pipeline_type: pipelineType,
            status
        };
        if (metadata) {
            data.metadata = metadata;
        }

        const response = await axios.post(
            `${this.baseUrl}/pipelines/`,
            data,
            { headers: this.headers }
        );
        return response.data;
    }

    async sendAlert(title, message, severity = 1) {
        const data = {
            title,
            message,
            severity,
            service: this.serviceName
        };
        const response = await axios.post(
            `${this.baseUrl}/alerts/`,
            data,
            { headers: this.headers }
        );
        return response.data;
    }
}

// Usage: the seed's main() loops forever with setInterval; this calls each method once and prints what the
// bridge answered. BRIDGE_URL and API_KEY come from the test (no key: the seed's own usage, anonymous).
async function main() {
    const monitor = new SystemMonitorClient(process.env.BRIDGE_URL, 'node-service', process.env.API_KEY || null);
    const answers = {};
    answers.status = await monitor.updateStatus('up', 'http://example-service:3000');
    await monitor.sendMetrics();
    answers.pipeline = await monitor.updatePipeline('data_ingestion', 'running', { step: 'data_download', progress: 45 });
    answers.alert = await monitor.sendAlert('Metrics Collection Failed', 'disk probe timed out', 2);
    console.log(JSON.stringify(answers));
}

main().catch((error) => {
    console.error('Monitor error:', error.response ? error.response.status : error.message, error.response?.data);
    process.exit(1);
});

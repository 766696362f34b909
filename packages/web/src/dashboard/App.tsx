/** The dashboard at `/`: hash routes (#/network, #/jobs, #/jobs/:id, #/nodes, #/nodes/:address, #/submit). */
import { Topbar } from '../shared/Topbar.js';
import { useHashRoute } from './hooks.js';
import { JobDetail } from './JobDetail.js';
import { JobsList } from './JobsList.js';
import { NetworkView } from './NetworkView.js';
import { NodePage } from './NodePage.js';
import { NodesView } from './NodesView.js';
import { SubmitView } from './SubmitView.js';

export function App() {
  const [section = 'network', id] = useHashRoute();
  let page;
  if (section === 'jobs' && id) page = <JobDetail id={id} />;
  else if (section === 'jobs') page = <JobsList limit={100} title="Jobs" />;
  else if (section === 'nodes' && id) page = <NodePage address={id} />;
  else if (section === 'nodes') page = <NodesView />;
  else if (section === 'submit') page = <SubmitView />;
  else
    page = (
      <>
        <NetworkView />
        <JobsList limit={10} title="Recent jobs" more />
      </>
    );
  return (
    <>
      <Topbar active={section === 'jobs' || section === 'nodes' || section === 'submit' ? section : 'network'} onDashboard />
      <main>{page}</main>
    </>
  );
}
